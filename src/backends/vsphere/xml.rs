//! Just enough XML for vim25: writing request bodies (every value escaped)
//! and reading responses into an owned tree. Responses are parsed with
//! roxmltree, which refuses DTDs, so no entity expansion can happen.

use serde_json::{Map, Value};

/// Escape text for an element body or an attribute value.
pub use crate::util::markup_escape as escape;

/// `<name>text</name>` with the text escaped.
pub fn el(name: &str, text: &str) -> String {
    format!("<{name}>{}</{name}>", escape(text))
}

/// A managed object reference: `<name type="Type">id</name>`.
pub fn moref(name: &str, r: &MoRef) -> String {
    format!(
        "<{name} type=\"{}\">{}</{name}>",
        escape(&r.ty),
        escape(&r.id)
    )
}

/// A managed object reference, e.g. `VirtualMachine:vm-42`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MoRef {
    pub ty: String,
    pub id: String,
}

impl MoRef {
    pub fn new(ty: &str, id: &str) -> MoRef {
        MoRef {
            ty: ty.to_string(),
            id: id.to_string(),
        }
    }
}

/// An element of a parsed response.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Xml {
    /// Local name, without namespace prefix.
    pub name: String,
    /// The `type` attribute of a managed object reference.
    pub ty: Option<String>,
    /// `xsi:type`: the concrete type of a polymorphic value.
    pub xsi_type: Option<String>,
    pub text: String,
    pub children: Vec<Xml>,
}

impl Xml {
    pub fn parse(text: &str) -> Result<Xml, String> {
        let doc = roxmltree::Document::parse(text).map_err(|e| e.to_string())?;
        Ok(convert(doc.root_element()))
    }

    pub fn child(&self, name: &str) -> Option<&Xml> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Xml> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The text of a descendant reached by child names.
    pub fn at(&self, path: &[&str]) -> Option<&str> {
        let mut node = self;
        for p in path {
            node = node.child(p)?;
        }
        Some(node.text.as_str())
    }

    /// Write the element back as XML (with its `xsi:type` and `type`), to
    /// send a device vCenter described back to it, changed or not.
    pub fn to_xml(&self) -> String {
        let mut out = format!("<{}", self.name);
        if let Some(t) = &self.xsi_type {
            out.push_str(&format!(" xsi:type=\"{}\"", escape(t)));
        }
        if let Some(t) = &self.ty {
            out.push_str(&format!(" type=\"{}\"", escape(t)));
        }
        out.push('>');
        if self.children.is_empty() {
            out.push_str(&escape(&self.text));
        }
        for c in &self.children {
            out.push_str(&c.to_xml());
        }
        out.push_str(&format!("</{}>", self.name));
        out
    }

    /// Set the text of a child (added at the end when missing).
    pub fn set(&mut self, name: &str, text: &str) {
        match self.children.iter_mut().find(|c| c.name == name) {
            Some(c) => c.text = text.to_string(),
            None => self.children.push(Xml {
                name: name.to_string(),
                text: text.to_string(),
                ..Xml::default()
            }),
        }
    }

    pub fn child_mut(&mut self, name: &str) -> Option<&mut Xml> {
        self.children.iter_mut().find(|c| c.name == name)
    }

    /// This element as a managed object reference.
    pub fn moref(&self) -> Option<MoRef> {
        Some(MoRef::new(self.ty.as_deref()?, &self.text))
    }

    /// A generic JSON rendering: elements with children become objects
    /// (repeated names become arrays), leaves become strings, numbers or
    /// booleans by their declared `xsi:type`.
    pub fn to_json(&self) -> Value {
        if self.children.is_empty() {
            return match self.xsi_type.as_deref() {
                Some("xsd:int" | "xsd:long" | "xsd:short" | "xsd:byte") => self
                    .text
                    .parse::<i64>()
                    .map(Value::from)
                    .unwrap_or_else(|_| Value::from(self.text.clone())),
                Some("xsd:boolean") => Value::Bool(self.text == "true"),
                _ => Value::from(self.text.clone()),
            };
        }
        let mut map = Map::new();
        for c in &self.children {
            let v = c.to_json();
            match map.get_mut(&c.name) {
                Some(Value::Array(a)) => a.push(v),
                Some(existing) => {
                    let first = existing.take();
                    *existing = Value::Array(vec![first, v]);
                }
                None => {
                    map.insert(c.name.clone(), v);
                }
            }
        }
        Value::Object(map)
    }
}

fn convert(node: roxmltree::Node) -> Xml {
    const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
    let attr = |xsi: bool| {
        node.attributes()
            .find(|a| a.name() == "type" && (a.namespace() == Some(XSI)) == xsi)
            .map(|a| a.value().to_string())
    };
    let (ty, xsi_type) = (attr(false), attr(true));
    let mut text = String::new();
    let mut children = Vec::new();
    for c in node.children() {
        if c.is_element() {
            children.push(convert(c));
        } else if c.is_text() {
            text.push_str(c.text().unwrap_or_default());
        }
    }
    if !children.is_empty() {
        text.clear();
    }
    Xml {
        name: node.tag_name().name().to_string(),
        ty,
        xsi_type,
        text,
        children,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_markup_could_use() {
        assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
        assert_eq!(
            el("name", "</name><evil/>"),
            "<name>&lt;/name&gt;&lt;evil/&gt;</name>"
        );
    }

    #[test]
    fn parses_values_references_and_types() {
        let x = Xml::parse(
            r#"<r xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><obj type="VirtualMachine">vm-1</obj><p xsi:type="ManagedObjectReference" type="Folder">group-v3</p><val xsi:type="xsd:int">3</val><val xsi:type="xsd:boolean">true</val></r>"#,
        )
        .unwrap();
        assert_eq!(
            x.child("obj").unwrap().moref(),
            Some(MoRef::new("VirtualMachine", "vm-1"))
        );
        assert_eq!(
            x.child("p").unwrap().moref(),
            Some(MoRef::new("Folder", "group-v3"))
        );
        assert_eq!(x.to_json()["val"], serde_json::json!([3, true]));
        assert_eq!(
            x.child("p").unwrap().to_xml(),
            r#"<p xsi:type="ManagedObjectReference" type="Folder">group-v3</p>"#
        );
    }

    #[test]
    fn refuses_dtds() {
        let bomb = r#"<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><l>&b;</l>"#;
        assert!(Xml::parse(bomb).is_err());
    }
}
