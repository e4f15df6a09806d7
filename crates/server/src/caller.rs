//! Who made a request, once authenticated: the token's name (what the ledger records as who
//! made a write), its role, and the session a browser signed in with.

use shipcheck_core::account::TokenRole;

use crate::error::ApiError;
use crate::session::same_secret;

/// An authenticated caller.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The token's name: what the ledger records as who made a write.
    pub name: String,
    pub role: TokenRole,
    /// The session's id and CSRF token, when the caller is a signed-in browser.
    pub session: Option<(String, String)>,
}

impl Caller {
    /// A form posted by a browser must carry the session's CSRF token. A bearer-token
    /// caller sends no cookie, so a cross-site form cannot act for it.
    pub fn check_csrf(&self, posted: Option<&str>) -> Result<(), ApiError> {
        match (&self.session, posted) {
            (None, _) => Ok(()),
            (Some((_, csrf)), Some(p)) if same_secret(csrf, p) => Ok(()),
            (Some(_), _) => Err(ApiError::Forbidden(
                "the form's CSRF token is missing or wrong: reload the page and try again".into(),
            )),
        }
    }
}
