//! Accounts of `shipcheck serve`: API tokens and what each may do. A token is stored only
//! as its SHA-256 (the ledger's `token` records); the secret is shown once, at creation.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::pack::Role;

/// What a token may do. Each role includes reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenRole {
    /// Reads the dashboard and the API.
    Viewer,
    /// Also records runs made elsewhere (`check --push`): a CI job's token.
    Pusher,
    /// Also attests manual items of this checklist role.
    Attester(Role),
    /// Also signs off runs for this checklist role.
    Signer(Role),
    /// Everything, waivers included.
    Admin,
}

/// The roles a person can type, for errors and help.
pub const ROLE_FORMS: &str = "viewer, pusher, attester:ROLE, signer:ROLE or admin (ROLE: security, operations, compliance, development, management)";

impl TokenRole {
    pub fn can_push(self) -> bool {
        matches!(self, TokenRole::Pusher | TokenRole::Admin)
    }

    pub fn can_attest(self, role: Role) -> bool {
        self == TokenRole::Admin || self == TokenRole::Attester(role)
    }

    pub fn can_sign(self, role: Role) -> bool {
        self == TokenRole::Admin || self == TokenRole::Signer(role)
    }

    pub fn can_waive(self) -> bool {
        self == TokenRole::Admin
    }
}

impl fmt::Display for TokenRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenRole::Viewer => f.write_str("viewer"),
            TokenRole::Pusher => f.write_str("pusher"),
            TokenRole::Attester(r) => write!(f, "attester:{}", r.as_str()),
            TokenRole::Signer(r) => write!(f, "signer:{}", r.as_str()),
            TokenRole::Admin => f.write_str("admin"),
        }
    }
}

impl FromStr for TokenRole {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("`{text}` is not a token role: use {ROLE_FORMS}");
        let checklist = |r: &str| {
            serde_json::from_value::<Role>(serde_json::Value::String(r.into())).map_err(|_| bad())
        };
        Ok(match text.split_once(':') {
            None => match text {
                "viewer" => TokenRole::Viewer,
                "pusher" => TokenRole::Pusher,
                "admin" => TokenRole::Admin,
                _ => return Err(bad()),
            },
            Some(("attester", r)) => TokenRole::Attester(checklist(r)?),
            Some(("signer", r)) => TokenRole::Signer(checklist(r)?),
            Some(_) => return Err(bad()),
        })
    }
}

impl Serialize for TokenRole {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TokenRole {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A token's life in the ledger: created, then perhaps revoked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenAction {
    Create,
    Revoke,
}

/// One `token` record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub action: TokenAction,
    /// The token's name, unique among live tokens.
    pub name: String,
    pub role: TokenRole,
    /// SHA-256 of the token's secret, hex.
    pub sha256: String,
    /// Who made the change (`local` for the command line on the server's host).
    pub by: String,
    pub at: String,
}

/// A live token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Token {
    pub name: String,
    pub role: TokenRole,
    #[serde(skip)]
    pub sha256: String,
    pub created_at: String,
    pub created_by: String,
}

/// The live tokens after `records` (in ledger order): created and not revoked since.
pub fn live_tokens<'a>(records: impl IntoIterator<Item = &'a TokenRecord>) -> Vec<Token> {
    let mut live: Vec<Token> = Vec::new();
    for r in records {
        live.retain(|t| t.name != r.name);
        if r.action == TokenAction::Create {
            live.push(Token {
                name: r.name.clone(),
                role: r.role,
                sha256: r.sha256.clone(),
                created_at: r.at.clone(),
                created_by: r.by.clone(),
            });
        }
    }
    live
}

/// Checks a token name: 1 to 64 characters of letters, digits, `-`, `_` and `.`.
pub fn check_token_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a token name: use 1 to 64 letters, digits, `-`, `_` or `.`"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_typos_are_refused() {
        for text in [
            "viewer",
            "pusher",
            "admin",
            "attester:security",
            "signer:operations",
        ] {
            let role: TokenRole = text.parse().unwrap();
            assert_eq!(role.to_string(), text);
        }
        let err = "signer:secruity".parse::<TokenRole>().unwrap_err();
        assert!(
            err.contains("signer:secruity") && err.contains("attester:ROLE"),
            "{err}"
        );
        assert!("root".parse::<TokenRole>().is_err());
    }

    #[test]
    fn permissions_follow_the_role() {
        let signer = TokenRole::Signer(Role::Security);
        assert!(signer.can_sign(Role::Security));
        assert!(!signer.can_sign(Role::Operations));
        assert!(!signer.can_attest(Role::Security));
        assert!(!signer.can_push() && !signer.can_waive());
        assert!(TokenRole::Admin.can_attest(Role::Compliance));
        assert!(TokenRole::Pusher.can_push() && !TokenRole::Viewer.can_push());
    }

    #[test]
    fn revoked_tokens_are_not_live() {
        let rec = |action, name: &str| TokenRecord {
            action,
            name: name.into(),
            role: TokenRole::Viewer,
            sha256: format!("h-{name}"),
            by: "local".into(),
            at: "2026-12-02T00:00:00Z".into(),
        };
        let records = [
            rec(TokenAction::Create, "a"),
            rec(TokenAction::Create, "b"),
            rec(TokenAction::Revoke, "a"),
        ];
        let live = live_tokens(&records);
        assert_eq!(live.len(), 1);
        assert_eq!(live[0].name, "b");
        assert!(check_token_name("ci-runner.1").is_ok());
        assert!(check_token_name("a b").is_err());
    }
}
