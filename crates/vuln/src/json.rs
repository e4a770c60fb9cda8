//! Walking a parsed JSON document leniently while knowing where we are: every value
//! carries its JSON pointer, so a reader can say exactly which field is wrong.

use serde_json::Value;

use crate::error::ReadError;

/// A value in the document and its JSON pointer (`""` for the root).
#[derive(Debug, Clone)]
pub(crate) struct Node<'a> {
    pub value: &'a Value,
    pub pointer: String,
}

/// Escapes one reference token of a JSON pointer (RFC 6901).
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

impl<'a> Node<'a> {
    pub fn root(value: &'a Value) -> Node<'a> {
        Node {
            value,
            pointer: String::new(),
        }
    }

    /// The place to name in an error: the pointer, `/` for the root.
    pub fn place(&self) -> String {
        if self.pointer.is_empty() {
            "/".to_owned()
        } else {
            self.pointer.clone()
        }
    }

    pub fn error(&self, message: impl Into<String>) -> ReadError {
        ReadError::new(self.place(), message)
    }

    /// The place of a member of this object, present or not.
    pub fn child_place(&self, key: &str) -> String {
        format!("{}/{}", self.pointer, escape(key))
    }

    /// A member of this object; `None` when this is not an object or the member is
    /// missing or `null`.
    pub fn get(&self, key: &str) -> Option<Node<'a>> {
        match self.value.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => Some(Node {
                value: v,
                pointer: self.child_place(key),
            }),
        }
    }

    /// A member that must be there.
    pub fn need(&self, key: &str) -> Result<Node<'a>, ReadError> {
        self.get(key)
            .ok_or_else(|| ReadError::new(self.child_place(key), "missing"))
    }

    pub fn is_object(&self) -> bool {
        self.value.is_object()
    }

    pub fn as_str(&self) -> Option<&'a str> {
        self.value.as_str()
    }

    /// A member's text, trimmed; `None` when missing, empty or not text. Numbers are
    /// taken as their text (some producers write versions as numbers).
    pub fn text(&self, key: &str) -> Option<String> {
        let node = self.get(key)?;
        node.own_text()
    }

    /// This value as text, trimmed and non-empty (numbers and booleans as written).
    pub fn own_text(&self) -> Option<String> {
        let s = match self.value {
            Value::String(s) => s.trim().to_owned(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return None,
        };
        (!s.is_empty()).then_some(s)
    }

    /// A member that must be non-empty text.
    pub fn need_text(&self, key: &str) -> Result<String, ReadError> {
        let node = self.need(key)?;
        match node.value {
            Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
            Value::String(_) => Err(node.error("empty")),
            _ => Err(node.error("not a string")),
        }
    }

    /// The items of a member that should be an array: none when it is missing; an
    /// error when it is something else.
    pub fn array(&self, key: &str) -> Result<Vec<Node<'a>>, ReadError> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(node) => node.items(),
        }
    }

    /// The items of this array.
    pub fn items(&self) -> Result<Vec<Node<'a>>, ReadError> {
        match self.value {
            Value::Array(items) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, v)| Node {
                    value: v,
                    pointer: format!("{}/{i}", self.pointer),
                })
                .collect()),
            _ => Err(self.error("not an array")),
        }
    }

    /// A member that should be an object (missing is fine; another type is not).
    pub fn object(&self, key: &str) -> Result<Option<Node<'a>>, ReadError> {
        match self.get(key) {
            None => Ok(None),
            Some(node) if node.is_object() => Ok(Some(node)),
            Some(node) => Err(node.error("not an object")),
        }
    }

    /// A member that should be an array of strings (e.g. product ids).
    pub fn strings(&self, key: &str) -> Result<Vec<String>, ReadError> {
        let mut out = Vec::new();
        for item in self.array(key)? {
            match item.as_str() {
                Some(s) => out.push(s.trim().to_owned()),
                None => return Err(item.error("not a string")),
            }
        }
        Ok(out)
    }

    /// A member as a number (JSON number, or text holding one).
    pub fn number(&self, key: &str) -> Option<f64> {
        let node = self.get(key)?;
        match node.value {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}
