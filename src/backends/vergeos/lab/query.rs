//! VergeOS's table query language, as the simulator answers it: `fields`
//! (columns, `a#b#c as alias` traversals, `display(x)`, `name[...]`
//! sub-selections, `all`/`most`), `filter` (`eq ne gt ge lt le bw ew cs ct
//! rx`, `and`/`or` strictly left to right, parentheses, quoted strings with
//! backslash escapes, `{$now}`), `sort`, `limit`, `offset`. A field that
//! is not a column of the table is refused, as VergeOS refuses it.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

pub type Row = Map<String, Value>;

/// How a column leads to a row of another table.
pub enum Link {
    /// The column holds that table's `$key`.
    Key(&'static str),
    /// That table's rows whose `column` equals this row's `$key`.
    Back(&'static str, &'static str),
}

/// What a query needs to know about the database.
pub trait Db {
    fn columns(&self, table: &str) -> Option<&'static [&'static str]>;
    fn link(&self, table: &str, column: &str) -> Option<Link>;
    fn rows(&self, table: &str) -> &[Row];
    fn now(&self) -> i64;
}

fn key_eq(a: &Value, b: &Value) -> bool {
    loose_cmp(a, b) == Some(std::cmp::Ordering::Equal)
}

/// Follow `a#b#c` from `row` of `table`.
pub fn resolve(db: &dyn Db, table: &str, row: &Row, path: &str) -> Value {
    let segs: Vec<&str> = path.split('#').collect();
    let mut table = table.to_string();
    let mut cur = row.clone();
    for (i, seg) in segs.iter().enumerate() {
        if i + 1 == segs.len() {
            if *seg == "$display" {
                return cur.get("name").cloned().unwrap_or(Value::Null);
            }
            if let Some(inner) = seg
                .strip_prefix("display(")
                .and_then(|s| s.strip_suffix(')'))
            {
                return cur.get(inner).cloned().unwrap_or(Value::Null);
            }
            return cur.get(*seg).cloned().unwrap_or(Value::Null);
        }
        let here = cur.get(*seg).cloned().unwrap_or(Value::Null);
        let next: Option<(String, Row)> = match (&here, db.link(&table, seg)) {
            (Value::Object(o), _) => Some((String::new(), o.clone())),
            (Value::String(r), _) if r.contains('/') => {
                let (t, k) = r.split_once('/').unwrap_or_default();
                db.rows(t)
                    .iter()
                    .find(|x| {
                        x.get("$key")
                            .is_some_and(|v| key_eq(v, &Value::String(k.into())))
                    })
                    .map(|x| (t.to_string(), x.clone()))
            }
            (v, Some(Link::Key(t))) if !v.is_null() => db
                .rows(t)
                .iter()
                .find(|x| x.get("$key").is_some_and(|k| key_eq(k, v)))
                .map(|x| (t.to_string(), x.clone())),
            (_, Some(Link::Back(t, col))) => {
                let me = cur.get("$key").cloned().unwrap_or(Value::Null);
                db.rows(t)
                    .iter()
                    .find(|x| x.get(col).is_some_and(|v| key_eq(v, &me)))
                    .map(|x| (t.to_string(), x.clone()))
            }
            _ => None,
        };
        let Some((t, r)) = next else {
            return Value::Null;
        };
        table = t;
        cur = r;
    }
    Value::Null
}

/// One entry of `fields`.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    /// Every column of the row.
    Every,
    /// `expr` (a column or a path), keyed by `key`.
    Path { expr: String, key: String },
    /// `name[...]`: a list column's items, projected.
    Sub { name: String, inner: Vec<Field> },
}

/// Split on commas outside brackets and parentheses.
fn split_top(s: &str) -> Vec<String> {
    let (mut out, mut cur, mut depth) = (Vec::new(), String::new(), 0i32);
    for ch in s.chars() {
        match ch {
            '[' | '(' => depth += 1,
            ']' | ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(ch);
    }
    out.push(cur);
    out.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The column a field expression starts from.
fn head(expr: &str) -> &str {
    let e = expr.split('#').next().unwrap_or(expr);
    e.split('(').next().unwrap_or(e)
}

pub fn parse_fields(db: &dyn Db, table: &str, text: &str) -> Result<Vec<Field>, String> {
    let columns = db.columns(table).unwrap_or(&[]);
    split_top(text)
        .into_iter()
        .map(|entry| {
            if entry == "all" || entry == "most" {
                return Ok(Field::Every);
            }
            if let Some((name, rest)) = entry.split_once('[') {
                let inner = rest
                    .strip_suffix(']')
                    .ok_or(format!("Invalid field '{entry}'"))?;
                return Ok(Field::Sub {
                    name: name.trim().to_string(),
                    inner: split_top(inner)
                        .into_iter()
                        .map(|f| match f.split_once(" as ") {
                            Some((e, a)) => Field::Path {
                                expr: e.trim().into(),
                                key: a.trim().into(),
                            },
                            None => Field::Path {
                                expr: f.clone(),
                                key: f,
                            },
                        })
                        .collect(),
                });
            }
            let (expr, key) = match entry.split_once(" as ") {
                Some((e, a)) => (e.trim().to_string(), a.trim().to_string()),
                None => (entry.clone(), entry.clone()),
            };
            let h = head(&expr);
            let known = h == "$key" || columns.contains(&h) || expr.starts_with("count(");
            if !known {
                return Err(format!("Invalid field '{h}' for table '{table}'"));
            }
            Ok(Field::Path { expr, key })
        })
        .collect()
}

pub fn project(db: &dyn Db, table: &str, row: &Row, fields: &[Field]) -> Row {
    let mut out = Map::new();
    for f in fields {
        match f {
            Field::Every => {
                for c in db.columns(table).unwrap_or(&[]) {
                    out.insert(
                        (*c).to_string(),
                        row.get(*c).cloned().unwrap_or(Value::Null),
                    );
                }
                out.insert(
                    "$key".into(),
                    row.get("$key").cloned().unwrap_or(Value::Null),
                );
            }
            Field::Path { expr, key } => {
                out.insert(key.clone(), resolve(db, table, row, expr));
            }
            Field::Sub { name, inner } => {
                let items = match row.get(name) {
                    Some(Value::Array(a)) => a
                        .iter()
                        .filter_map(Value::as_object)
                        .map(|i| Value::Object(project(db, "", i, inner)))
                        .collect(),
                    _ => Vec::new(),
                };
                out.insert(name.clone(), Value::Array(items));
            }
        }
    }
    out
}

/// A filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Cmp {
        field: String,
        op: String,
        value: Value,
    },
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open,
    Close,
    Word(String),
    Str(String),
}

fn tokens(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut it = s.chars().peekable();
    while let Some(&c) = it.peek() {
        match c {
            ' ' | '\t' => {
                it.next();
            }
            '(' => {
                it.next();
                out.push(Tok::Open);
            }
            ')' => {
                it.next();
                out.push(Tok::Close);
            }
            '\'' => {
                it.next();
                let mut v = String::new();
                loop {
                    match it.next() {
                        Some('\\') => v.push(it.next().ok_or("unterminated escape")?),
                        Some('\'') => break,
                        Some(ch) => v.push(ch),
                        None => return Err("unterminated string".into()),
                    }
                }
                out.push(Tok::Str(v));
            }
            _ => {
                let mut w = String::new();
                while let Some(&ch) = it.peek() {
                    if ch == ' ' || ch == '(' || ch == ')' {
                        break;
                    }
                    w.push(ch);
                    it.next();
                }
                out.push(Tok::Word(w));
            }
        }
    }
    Ok(out)
}

const OPS: [&str; 11] = [
    "eq", "ne", "gt", "ge", "lt", "le", "bw", "ew", "cs", "ct", "rx",
];

struct Parser {
    toks: Vec<Tok>,
    at: usize,
}

impl Parser {
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn expr(&mut self) -> Result<Filter, String> {
        let mut left = self.primary()?;
        while let Some(Tok::Word(w)) = self.toks.get(self.at).cloned() {
            let and = match w.as_str() {
                "and" => true,
                "or" => false,
                _ => return Err(format!("expected and/or, found '{w}'")),
            };
            self.at += 1;
            let right = self.primary()?;
            left = if and {
                Filter::And(Box::new(left), Box::new(right))
            } else {
                Filter::Or(Box::new(left), Box::new(right))
            };
        }
        Ok(left)
    }

    fn primary(&mut self) -> Result<Filter, String> {
        match self.next() {
            Some(Tok::Open) => {
                let e = self.expr()?;
                match self.next() {
                    Some(Tok::Close) => Ok(e),
                    _ => Err("missing ')'".into()),
                }
            }
            Some(Tok::Word(field)) => {
                let op = match self.next() {
                    Some(Tok::Word(op)) if OPS.contains(&op.as_str()) => op,
                    other => return Err(format!("'{field}' needs an operator, found {other:?}")),
                };
                let value = match self.next() {
                    Some(Tok::Str(s)) => Value::String(s),
                    Some(Tok::Word(w)) => match w.as_str() {
                        "true" => Value::Bool(true),
                        "false" => Value::Bool(false),
                        "null" => Value::Null,
                        "{$now}" => Value::String("{$now}".into()),
                        n => serde_json::from_str::<serde_json::Number>(n)
                            .map(Value::Number)
                            .map_err(|_| format!("'{n}' is not a value"))?,
                    },
                    other => return Err(format!("'{field} {op}' needs a value, found {other:?}")),
                };
                Ok(Filter::Cmp { field, op, value })
            }
            other => Err(format!("unexpected {other:?}")),
        }
    }
}

pub fn parse_filter(text: &str) -> Result<Filter, String> {
    let mut p = Parser {
        toks: tokens(text)?,
        at: 0,
    };
    let f = p.expr()?;
    if p.at < p.toks.len() {
        return Err("trailing input".into());
    }
    Ok(f)
}

/// The fields a filter names, to check them against the table.
pub fn filter_fields(f: &Filter, out: &mut Vec<String>) {
    match f {
        Filter::Cmp { field, .. } => out.push(field.clone()),
        Filter::And(a, b) | Filter::Or(a, b) => {
            filter_fields(a, out);
            filter_fields(b, out);
        }
    }
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Numbers (and booleans, as VergeOS stores them: 1/0) compare as
/// numbers, everything else as text; null is below everything.
fn loose_cmp(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Null, Value::Null) => Some(std::cmp::Ordering::Equal),
        (Value::Null, _) => Some(std::cmp::Ordering::Less),
        (_, Value::Null) => Some(std::cmp::Ordering::Greater),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => as_f64(a)?.partial_cmp(&as_f64(b)?),
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

pub fn matches(
    db: &dyn Db,
    table: &str,
    row: &Row,
    aliases: &BTreeMap<String, String>,
    f: &Filter,
) -> bool {
    match f {
        Filter::And(a, b) => {
            matches(db, table, row, aliases, a) && matches(db, table, row, aliases, b)
        }
        Filter::Or(a, b) => {
            matches(db, table, row, aliases, a) || matches(db, table, row, aliases, b)
        }
        Filter::Cmp { field, op, value } => {
            let path = aliases.get(field).map_or(field.as_str(), String::as_str);
            let got = resolve(db, table, row, path);
            let want = if value == &Value::String("{$now}".into()) {
                Value::from(db.now())
            } else {
                value.clone()
            };
            use std::cmp::Ordering::*;
            let ord = loose_cmp(&got, &want);
            match op.as_str() {
                "eq" => ord == Some(Equal),
                "ne" => ord != Some(Equal),
                "gt" => ord == Some(Greater),
                "ge" => matches!(ord, Some(Greater | Equal)),
                "lt" => ord == Some(Less) && !got.is_null(),
                "le" => matches!(ord, Some(Less | Equal)) && !got.is_null(),
                "bw" => text(&got).starts_with(&text(&want)),
                "ew" => text(&got).ends_with(&text(&want)),
                "cs" => text(&got).contains(&text(&want)),
                "ct" => text(&got)
                    .to_lowercase()
                    .contains(&text(&want).to_lowercase()),
                "rx" => regex_lite::Regex::new(&text(&want)).is_ok_and(|r| r.is_match(&text(&got))),
                _ => false,
            }
        }
    }
}

/// `sort=-created`, `+orderid`, `tag,sequence`.
pub fn sort(db: &dyn Db, table: &str, rows: &mut [Row], spec: &str) {
    let keys: Vec<(bool, String)> = spec
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| match s.strip_prefix('-') {
            Some(f) => (true, f.to_string()),
            None => (false, s.trim_start_matches('+').to_string()),
        })
        .collect();
    rows.sort_by(|a, b| {
        for (desc, f) in &keys {
            let o = loose_cmp(&resolve(db, table, a, f), &resolve(db, table, b, f))
                .unwrap_or(std::cmp::Ordering::Equal);
            let o = if *desc { o.reverse() } else { o };
            if o.is_ne() {
                return o;
            }
        }
        std::cmp::Ordering::Equal
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdks_filters_parse_left_to_right() {
        for f in [
            "is_snapshot eq false",
            "(is_snapshot eq false) and (name bw 'web')",
            r"(name eq 'it\'s') and is_snapshot eq false",
            "(is_snapshot eq false) and ((status eq 'a' or status eq 'b') and cpu_cores eq 2)",
            "level eq 'error' and object_type eq 'vm' and timestamp ge 1704067200000000",
            "(snooze eq 0 or snooze le {$now})",
            "cluster#name eq 'c1' and maintenance eq false",
        ] {
            parse_filter(f).unwrap_or_else(|e| panic!("{f}: {e}"));
        }
        assert_eq!(
            parse_filter(r"name eq 'it\'s'").unwrap(),
            Filter::Cmp {
                field: "name".into(),
                op: "eq".into(),
                value: Value::String("it's".into())
            }
        );
        assert!(parse_filter("name eq").is_err());
        assert!(parse_filter("name like 'x'").is_err());
        assert!(parse_filter("(a eq 1").is_err());
    }

    #[test]
    fn fields_split_outside_brackets() {
        assert_eq!(
            split_top("$key,tiers[$key,status#status as status],name"),
            ["$key", "tiers[$key,status#status as status]", "name"]
        );
        assert_eq!(head("status#display(status)"), "status");
    }
}
