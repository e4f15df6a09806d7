//! Lossless edits of a TOML file with toml_edit: a key's value replaced (keeping the
//! comments and spacing around it), added to its table, or removed; the rest of the document
//! is written back as it was.

use serde_json::Value;
use toml_edit::{DocumentMut, Item, Table};

fn parse(text: &str) -> Result<DocumentMut, String> {
    text.parse::<DocumentMut>()
        .map_err(|e| format!("not TOML: {e}"))
}

/// The table that holds `path`'s last key (created tables are refused: the fix adds keys to
/// tables that exist).
fn parent<'a>(doc: &'a mut DocumentMut, path: &[&str]) -> Result<&'a mut Table, String> {
    let mut table = doc.as_table_mut();
    for (i, key) in path.iter().enumerate() {
        table = table
            .get_mut(key)
            .and_then(Item::as_table_mut)
            .ok_or_else(|| {
                format!(
                    "`{}` is not a table here: add it by hand",
                    path[..=i].join(".")
                )
            })?;
    }
    Ok(table)
}

/// The value of `path` as written, if present.
pub fn get(text: &str, path: &str) -> Result<Option<String>, String> {
    let doc = parse(text)?;
    let mut item = doc.as_item();
    for key in path.split('.') {
        match item.get(key) {
            Some(i) => item = i,
            None => return Ok(None),
        }
    }
    Ok(item.as_value().map(|v| {
        let mut v = v.clone();
        v.decor_mut().clear();
        v.to_string()
    }))
}

/// `text` with `path` set to `value`.
pub fn set(text: &str, path: &str, value: &Value) -> Result<String, String> {
    let mut doc = parse(text)?;
    let keys: Vec<&str> = path.split('.').collect();
    let (last, parents) = keys.split_last().ok_or("an empty key")?;
    let table = parent(&mut doc, parents)?;
    let mut new = to_toml(value)?;
    match table.get_mut(last).and_then(Item::as_value_mut) {
        Some(old) => {
            *new.decor_mut() = old.decor().clone();
            *old = new;
        }
        None => {
            table.insert(last, Item::Value(new));
        }
    }
    Ok(doc.to_string())
}

/// `text` without `path` (unchanged when absent).
pub fn remove(text: &str, path: &str) -> Result<String, String> {
    let mut doc = parse(text)?;
    let keys: Vec<&str> = path.split('.').collect();
    let (last, parents) = keys.split_last().ok_or("an empty key")?;
    let Ok(table) = parent(&mut doc, parents) else {
        return Ok(text.to_string());
    };
    if table.remove(last).is_none() {
        return Ok(text.to_string());
    }
    Ok(doc.to_string())
}

fn to_toml(value: &Value) -> Result<toml_edit::Value, String> {
    Ok(match value {
        Value::String(s) => s.as_str().into(),
        Value::Bool(b) => (*b).into(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.into(),
            None => n.as_f64().ok_or("not a TOML number")?.into(),
        },
        Value::Array(items) => {
            let mut a = toml_edit::Array::new();
            for i in items {
                a.push(to_toml(i)?);
            }
            toml_edit::Value::Array(a)
        }
        Value::Null | Value::Object(_) => {
            return Err("TOML has no null, and a table is set by hand".into());
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DOC: &str =
        "# relay\n[server]\nport = 8080   # public\nbind = \"0.0.0.0\"\n\n[log]\nlevel = 'debug'\n";

    #[test]
    fn only_the_value_changes() {
        assert_eq!(
            set(DOC, "server.bind", &json!("127.0.0.1")).unwrap(),
            DOC.replace("\"0.0.0.0\"", "\"127.0.0.1\"")
        );
        assert_eq!(
            set(DOC, "server.port", &json!(9090)).unwrap(),
            DOC.replace("8080", "9090")
        );
        assert_eq!(
            remove(DOC, "log.level").unwrap(),
            DOC.replace("level = 'debug'\n", "")
        );
        let added = set(DOC, "log.format", &json!("json")).unwrap();
        assert!(
            added.contains("level = 'debug'\nformat = \"json\"\n"),
            "{added}"
        );
        assert_eq!(get(DOC, "server.port").unwrap().as_deref(), Some("8080"));
        assert!(
            set(DOC, "tls.cert", &json!("x"))
                .unwrap_err()
                .contains("`tls` is not a table")
        );
        assert!(set("a = [", "a", &json!(1)).is_err());
    }
}
