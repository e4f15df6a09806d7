//! The read queries a server and the history commands need, each one indexed statement
//! (`records_kind`, `records_scope`): no page of the dashboard reads the whole ledger. The
//! SQL is written once for both backends; only the placeholder style differs.

/// Writes a statement's `#N` placeholders as `?N` (SQLite) or `$N` (PostgreSQL).
pub fn placeholders(text: &str, dollar: bool) -> String {
    text.replace('#', if dollar { "$" } else { "?" })
}

/// A parameter of a [`Query`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Param {
    Int(i64),
    Text(String),
    /// A text that may be absent (SQL NULL).
    MaybeText(Option<String>),
}

/// A read of records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Query {
    /// The record with this sequence number.
    Seq(i64),
    /// Every record of a kind, oldest first (small kinds: tokens).
    Kind(String),
    /// Records of a kind after a sequence number, oldest first, at most `limit` of them.
    After {
        kind: String,
        after: i64,
        limit: i64,
    },
    /// The record of a kind at this position counted from the oldest (0: the oldest).
    Nth { kind: String, offset: i64 },
    /// The record of a kind at this position counted from the newest (0: the newest).
    NthNewest { kind: String, offset: i64 },
    /// Records of every kind from sequence number `from` on, oldest first, at most `limit` of
    /// them (a chain segment).
    Span { from: i64, limit: i64 },
    /// Records of a kind in a deployment (and environment, when given), newest first, with a
    /// sequence number below `before`, at most `limit` of them.
    Page {
        kind: String,
        deployment: String,
        environment: Option<String>,
        before: i64,
        limit: i64,
    },
}

impl Query {
    /// The statement, with placeholders `?N` (SQLite) or `$N` (PostgreSQL).
    pub fn sql(&self, columns: &str, dollar: bool) -> String {
        let text = match self {
            Query::Seq(_) => format!("SELECT {columns} FROM records WHERE seq = #1"),
            Query::Kind(_) => format!("SELECT {columns} FROM records WHERE kind = #1 ORDER BY seq"),
            Query::After { .. } => format!(
                "SELECT {columns} FROM records WHERE kind = #1 AND seq > #2 ORDER BY seq LIMIT #3"
            ),
            Query::Nth { .. } => format!(
                "SELECT {columns} FROM records WHERE kind = #1 ORDER BY seq LIMIT 1 OFFSET #2"
            ),
            Query::NthNewest { .. } => format!(
                "SELECT {columns} FROM records WHERE kind = #1 ORDER BY seq DESC LIMIT 1 OFFSET #2"
            ),
            Query::Span { .. } => {
                format!("SELECT {columns} FROM records WHERE seq >= #1 ORDER BY seq LIMIT #2")
            }
            Query::Page { .. } => format!(
                "SELECT {columns} FROM records WHERE deployment = #1 AND kind = #2 AND (CAST(#3 AS TEXT) IS NULL OR environment = #3) AND seq < #4 ORDER BY seq DESC LIMIT #5"
            ),
        };
        placeholders(&text, dollar)
    }

    /// The parameters, in placeholder order.
    pub fn params(&self) -> Vec<Param> {
        match self {
            Query::Seq(seq) => vec![Param::Int(*seq)],
            Query::Kind(kind) => vec![Param::Text(kind.clone())],
            Query::After { kind, after, limit } => vec![
                Param::Text(kind.clone()),
                Param::Int(*after),
                Param::Int(*limit),
            ],
            Query::Span { from, limit } => vec![Param::Int(*from), Param::Int(*limit)],
            Query::Nth { kind, offset } | Query::NthNewest { kind, offset } => {
                vec![Param::Text(kind.clone()), Param::Int(*offset)]
            }
            Query::Page {
                kind,
                deployment,
                environment,
                before,
                limit,
            } => vec![
                Param::Text(deployment.clone()),
                Param::Text(kind.clone()),
                Param::MaybeText(environment.clone()),
                Param::Int(*before),
                Param::Int(*limit),
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_follow_the_backend() {
        let q = Query::Page {
            kind: "run".into(),
            deployment: "d".into(),
            environment: None,
            before: 10,
            limit: 5,
        };
        assert!(q.sql("seq", true).contains("deployment = $1 AND kind = $2"));
        assert!(
            q.sql("seq", false)
                .contains("seq < ?4 ORDER BY seq DESC LIMIT ?5")
        );
        assert_eq!(q.params().len(), 5);
    }
}
