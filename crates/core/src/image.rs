//! Images for the model: a file as a `data:` URL (PNG, JPEG, GIF or WebP).

use base64::Engine;
use std::path::Path;

/// The largest image sent; bigger ones are refused rather than blowing up every request.
pub const MAX_IMAGE_BYTES: u64 = 20 << 20;

/// `data:<mime>;base64,<bytes>` for an image file; the error names the file and the problem.
pub fn data_url(path: &Path) -> Result<String, String> {
    let mime = match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        _ => {
            return Err(format!(
                "{}: not a PNG, JPEG, GIF or WebP image",
                path.display()
            ));
        }
    };
    let size = std::fs::metadata(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .len();
    if size > MAX_IMAGE_BYTES {
        return Err(format!(
            "{}: {size} bytes; images are limited to {MAX_IMAGE_BYTES}",
            path.display()
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(format!(
        "data:{mime};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}
