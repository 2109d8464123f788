//! What the tokens say: identity facts from the id_token's JWT payload (no signature check —
//! the token came from the issuer over TLS and is only read for display and routing), and when
//! an access token must be refreshed.

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

/// Refresh this long before an access token expires.
pub const REFRESH_MARGIN: Duration = Duration::minutes(5);
/// Without a readable `exp`, refresh when the last refresh is older than this.
pub const MAX_AGE_WITHOUT_EXP: Duration = Duration::days(8);

const AUTH_CLAIM: &str = "https://api.openai.com/auth";
const PROFILE_CLAIM: &str = "https://api.openai.com/profile";

/// Identity facts from an id_token.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct IdTokenInfo {
    pub email: Option<String>,
    pub plan_type: Option<String>,
    pub user_id: Option<String>,
    pub account_id: Option<String>,
}

/// The decoded payload of a JWT, if it has one.
pub fn payload(token: &str) -> Option<Value> {
    let mut parts = token.split('.');
    let (_header, body) = (parts.next()?, parts.next()?);
    parts.next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(body.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Facts from an id_token's claims (top level, `…/auth` and `…/profile`).
pub fn id_token_info(id_token: &str) -> IdTokenInfo {
    let Some(claims) = payload(id_token) else {
        return IdTokenInfo::default();
    };
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let auth = claims.get(AUTH_CLAIM);
    IdTokenInfo {
        email: text(claims.get("email"))
            .or_else(|| text(claims.get(PROFILE_CLAIM).and_then(|p| p.get("email")))),
        plan_type: text(auth.and_then(|a| a.get("chatgpt_plan_type"))),
        user_id: text(auth.and_then(|a| a.get("chatgpt_user_id").or_else(|| a.get("user_id")))),
        account_id: text(auth.and_then(|a| a.get("chatgpt_account_id"))),
    }
}

/// The token's `exp`, when it has a readable one.
pub fn expiry(token: &str) -> Option<DateTime<Utc>> {
    let exp = payload(token)?.get("exp")?.as_i64()?;
    DateTime::from_timestamp(exp, 0)
}

/// Whether an access token must be refreshed at `now`: it expires within [`REFRESH_MARGIN`];
/// or, with no readable `exp`, the last refresh is older than [`MAX_AGE_WITHOUT_EXP`] (or
/// unknown).
pub fn is_stale(
    access_token: &str,
    last_refresh: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> bool {
    match expiry(access_token) {
        Some(exp) => exp - now < REFRESH_MARGIN,
        None => last_refresh.is_none_or(|at| now - at > MAX_AGE_WITHOUT_EXP),
    }
}

/// A JWT with the given payload (unsigned), for tests and fixtures.
pub fn unsigned_jwt(claims: &Value) -> String {
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.sig",
        engine.encode(br#"{"alg":"none","typ":"JWT"}"#),
        engine.encode(serde_json::to_vec(claims).expect("claims serialize"))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_identity_claims() {
        let token = unsigned_jwt(&json!({
            "email": "me@example.com",
            "https://api.openai.com/auth": {
                "chatgpt_plan_type": "pro",
                "chatgpt_user_id": "user-1",
                "chatgpt_account_id": "acc-9"
            }
        }));
        assert_eq!(
            id_token_info(&token),
            IdTokenInfo {
                email: Some("me@example.com".into()),
                plan_type: Some("pro".into()),
                user_id: Some("user-1".into()),
                account_id: Some("acc-9".into()),
            }
        );
        let profile =
            unsigned_jwt(&json!({"https://api.openai.com/profile": {"email": "p@example.com"}}));
        assert_eq!(
            id_token_info(&profile).email.as_deref(),
            Some("p@example.com")
        );
        assert_eq!(id_token_info("not-a-jwt"), IdTokenInfo::default());
    }

    #[test]
    fn staleness_by_exp_or_by_age() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let expiring = |secs: i64| unsigned_jwt(&json!({"exp": now.timestamp() + secs}));
        assert!(
            is_stale(&expiring(60), None, now),
            "expires within 5 minutes"
        );
        assert!(!is_stale(&expiring(3600), None, now));
        assert!(is_stale(&expiring(-10), Some(now), now), "already expired");
        let opaque = "opaque-token";
        assert!(!is_stale(opaque, Some(now - Duration::days(7)), now));
        assert!(is_stale(opaque, Some(now - Duration::days(9)), now));
        assert!(is_stale(opaque, None, now));
    }
}
