//! Dotted paths into a JSON body (`"payment_account.holder.name"`), the
//! spelling the validators use in `errors.fields`: joining a prefix and a
//! name, and reading, setting or removing the value a path names. The fault
//! catalogue uses them to break one property of a valid request.

use serde_json::Value;

/// `prefix.name`, or `name` alone when `prefix` is empty (the body itself).
pub(super) fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

/// The value at `path`; `null` counts as absent, as in the validators.
pub(super) fn get<'v>(body: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.')
        .try_fold(body, |node, key| node.get(key))
        .filter(|v| !v.is_null())
}

fn get_mut<'v>(body: &'v mut Value, path: &str) -> Option<&'v mut Value> {
    path.split('.')
        .try_fold(body, |node, key| node.get_mut(key))
}

/// Puts `value` at `path`, creating the objects on the way (`null` parents
/// become objects, as `serde_json`'s indexing does).
pub(super) fn set(body: &mut Value, path: &str, value: Value) {
    let mut node = body;
    let mut keys = path.split('.').peekable();
    while let Some(key) = keys.next() {
        if keys.peek().is_none() {
            node[key] = value;
            return;
        }
        node = &mut node[key];
    }
}

/// Removes the property at `path`; nothing happens if its parent is no object.
pub(super) fn remove(body: &mut Value, path: &str) {
    let (parent, key) = match path.rsplit_once('.') {
        Some((parent, key)) => (get_mut(body, parent), key),
        None => (Some(body), path),
    };
    if let Some(Value::Object(map)) = parent {
        map.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_read_write_and_remove_nested_properties() {
        assert_eq!(join("", "amount"), "amount");
        assert_eq!(join("payment_account", "type"), "payment_account.type");

        let mut body = json!({"amount": {"value": "1.00", "currency": null}});
        assert_eq!(get(&body, "amount.value"), Some(&json!("1.00")));
        assert_eq!(get(&body, "amount.currency"), None, "null is absent");
        assert_eq!(get(&body, "amount.value.deeper"), None);

        set(&mut body, "sender.address.city", json!("Rome"));
        assert_eq!(get(&body, "sender.address.city"), Some(&json!("Rome")));
        set(&mut body, "amount.value", json!(150));
        assert_eq!(body["amount"]["value"], json!(150));

        remove(&mut body, "amount.value");
        remove(&mut body, "sender");
        remove(&mut body, "missing.parent");
        assert_eq!(body, json!({"amount": {"currency": null}}));
    }
}
