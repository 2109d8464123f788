//! `FileChange`: one file's part of a patch, as shown to a user before it is applied and as
//! carried in patch events.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What a patch does to one path. `Update` carries a unified diff against the file as it is on
/// disk when the patch was verified, and the destination when the file is also moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FileChange {
    /// A new file (or one that replaces an existing file) with this content.
    Add { content: String },
    /// The file is removed; `content` is what it held, for display.
    Delete { content: String },
    /// The file is edited (and possibly moved to `move_path`).
    Update {
        unified_diff: String,
        move_path: Option<PathBuf>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_shape_uses_type_tags() {
        let add = FileChange::Add {
            content: "x\n".into(),
        };
        assert_eq!(
            serde_json::to_string(&add).unwrap(),
            r#"{"type":"add","content":"x\n"}"#
        );
        let update: FileChange = serde_json::from_str(
            r#"{"type":"update","unified_diff":"@@ -1 +1 @@\n-a\n+b\n","move_path":"b.txt"}"#,
        )
        .unwrap();
        assert_eq!(
            update,
            FileChange::Update {
                unified_diff: "@@ -1 +1 @@\n-a\n+b\n".into(),
                move_path: Some(PathBuf::from("b.txt")),
            }
        );
    }
}
