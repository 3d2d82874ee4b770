//! Who may look: on this machine only (loopback), anyone who can reach it; anywhere else, only
//! a browser that shows the token. The token comes as `?token=` once (then a cookie), or as
//! `Authorization: Bearer`. Compared in constant time.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;
use subtle::ConstantTimeEq;

use super::DashboardError;

pub const COOKIE: &str = "flashline_token";
/// A token shorter than this is refused at start: it would be guessed.
const MIN_TOKEN: usize = 16;

/// The address to listen on, refused off loopback without a token.
pub fn listen_addr(listen: &str, token: Option<&str>) -> Result<SocketAddr, DashboardError> {
    let addr = listen
        .to_socket_addrs()
        .map_err(|e| DashboardError::Address(format!("{listen}: {e}")))?
        .next()
        .ok_or_else(|| DashboardError::Address(listen.into()))?;
    if !addr.ip().is_loopback() && token.is_none() {
        return Err(DashboardError::NoToken(listen.into()));
    }
    Ok(addr)
}

pub fn read_token(path: &Path) -> Result<String, DashboardError> {
    let err = |cause: String| DashboardError::Token {
        path: path.display().to_string(),
        cause,
    };
    let meta = std::fs::metadata(path).map_err(|e| err(e.to_string()))?;
    if meta.len() > 4096 {
        return Err(err("longer than 4096 bytes: not a token".into()));
    }
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let token = text.trim().to_string();
    if token.len() < MIN_TOKEN || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(err(format!(
            "a token is one word of at least {MIN_TOKEN} characters (e.g. `openssl rand -hex 16`)"
        )));
    }
    Ok(token)
}

/// What a request showed.
#[derive(Debug, PartialEq, Eq)]
pub enum Access {
    Allowed,
    /// Allowed by `?token=`: answer with the cookie and without the token in the address.
    AllowedByQuery,
    Refused,
}

pub fn check(
    expected: Option<&str>,
    authorization: Option<&str>,
    cookie: Option<&str>,
    query_token: Option<&str>,
) -> Access {
    let Some(expected) = expected else {
        return Access::Allowed;
    };
    let same = |given: &str| bool::from(given.as_bytes().ct_eq(expected.as_bytes()));
    let bearer = authorization
        .and_then(|a| a.strip_prefix("Bearer "))
        .map(str::trim);
    let from_cookie = cookie.and_then(|c| {
        c.split(';')
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| *k == COOKIE)
            .map(|(_, v)| v)
    });
    if bearer.is_some_and(same) || from_cookie.is_some_and(same) {
        Access::Allowed
    } else if query_token.is_some_and(same) {
        Access::AllowedByQuery
    } else {
        Access::Refused
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "0123456789abcdef0123";

    #[test]
    fn off_loopback_needs_a_token() {
        assert!(listen_addr("127.0.0.1:0", None).is_ok());
        assert!(listen_addr("[::1]:0", None).is_ok());
        let e = listen_addr("0.0.0.0:8080", None).unwrap_err();
        assert!(e.to_string().contains("token"), "{e}");
        assert!(listen_addr("0.0.0.0:8080", Some(T)).is_ok());
        assert!(listen_addr("nonsense", None).is_err());
    }

    #[test]
    fn the_token_is_shown_by_header_cookie_or_query_and_nothing_else() {
        let t = Some(T);
        assert_eq!(check(None, None, None, None), Access::Allowed);
        assert_eq!(check(t, None, None, None), Access::Refused);
        assert_eq!(
            check(t, Some(&format!("Bearer {T}")), None, None),
            Access::Allowed
        );
        assert_eq!(check(t, Some("Bearer wrong"), None, None), Access::Refused);
        let cookie = format!("other=1; {COOKIE}={T}");
        assert_eq!(check(t, None, Some(&cookie), None), Access::Allowed);
        assert_eq!(check(t, None, None, Some(T)), Access::AllowedByQuery);
        assert_eq!(check(t, None, None, Some(&T[..10])), Access::Refused);
    }

    #[test]
    fn a_short_or_missing_token_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "short\n").unwrap();
        assert!(read_token(&path).unwrap_err().to_string().contains("16"));
        std::fs::write(&path, format!("{T}\n")).unwrap();
        assert_eq!(read_token(&path).unwrap(), T);
        assert!(read_token(&dir.path().join("none")).is_err());
    }
}
