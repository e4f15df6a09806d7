//! `shipcheck token create|list|revoke`: API tokens, stored in the ledger as their SHA-256
//! with who created or revoked them. The secret is returned once, at creation.

use shipcheck_core::account::{Token, TokenAction, TokenRecord, TokenRole, check_token_name};
use shipcheck_ledger::{Ledger, LedgerError};

/// Creates token `name` with `role`: returns its secret, which nothing stores.
pub fn create(
    ledger: &mut Ledger,
    name: &str,
    role: TokenRole,
    by: &str,
) -> Result<String, LedgerError> {
    check_token_name(name).map_err(LedgerError::Invalid)?;
    if ledger.tokens()?.iter().any(|t| t.name == name) {
        return Err(LedgerError::Invalid(format!(
            "a token named `{name}` exists: revoke it first, or choose another name"
        )));
    }
    let secret = crate::auth::new_secret().map_err(|e| LedgerError::Invalid(e.to_string()))?;
    ledger.record_token(&TokenRecord {
        action: TokenAction::Create,
        name: name.into(),
        role,
        sha256: crate::auth::digest(&secret),
        by: by.into(),
        at: shipcheck_ledger::now(),
    })?;
    Ok(secret)
}

/// Revokes token `name`.
pub fn revoke(ledger: &mut Ledger, name: &str, by: &str) -> Result<Token, LedgerError> {
    let live = ledger.tokens()?;
    let Some(token) = live.iter().find(|t| t.name == name).cloned() else {
        let names: Vec<&str> = live.iter().map(|t| t.name.as_str()).collect();
        return Err(LedgerError::NotFound(format!(
            "no live token named `{name}` (live: {})",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        )));
    };
    ledger.record_token(&TokenRecord {
        action: TokenAction::Revoke,
        name: name.into(),
        role: token.role,
        sha256: token.sha256.clone(),
        by: by.into(),
        at: shipcheck_ledger::now(),
    })?;
    Ok(token)
}
