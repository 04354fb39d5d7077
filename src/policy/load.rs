//! Reading policy files, giving each policy a stable id, and strict
//! validation with diagnostics that name file and line.

use std::collections::HashMap;
use std::path::Path;

use cedar_policy::{PolicyId, PolicySet, Schema, ValidationMode, Validator};
use miette::Diagnostic;

use super::PolicyError;

/// One policy file: its name (for ids and diagnostics) and text.
#[derive(Debug, Clone)]
pub struct PolicySource {
    pub name: String,
    pub text: String,
}

/// A forbid policy made from a setting rather than written in a file
/// (`origin`: where it comes from, e.g. `env/PVE_CATEGORIES`), named after
/// it, so a refusal and a dry run say which setting stopped the call.
pub fn generated_forbid(
    origin: &str,
    id: &str,
    reason: &str,
    action: &str,
    condition: &str,
) -> PolicySource {
    PolicySource {
        name: origin.to_string(),
        text: format!(
            "// From {origin}.\n@id({id:?})\n@reason({reason:?})\nforbid (principal, {action}, resource)\n{condition};\n"
        ),
    }
}

/// A policy set as it decides: the directory's files, then the policies
/// the configuration makes (`[listing]`). The live set and shadow mode's
/// candidate are both read this way, so a tool the configuration hides is
/// hidden in both and never shows up as a disagreement.
pub fn read_set(dir: &Path, generated: &[PolicySource]) -> Result<Vec<PolicySource>, PolicyError> {
    let mut sources = read_dir(dir)?;
    sources.extend(generated.iter().cloned());
    Ok(sources)
}

/// Every `*.cedar` file directly in `dir`, sorted by name.
pub fn read_dir(dir: &Path) -> Result<Vec<PolicySource>, PolicyError> {
    let io = |source| PolicyError::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "cedar"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(PolicyError::Empty(dir.display().to_string()));
    }
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).map_err(|source| PolicyError::Io {
                path: p.display().to_string(),
                source,
            })?;
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            Ok(PolicySource { name, text })
        })
        .collect()
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset.min(text.len()))
        .map_or(1, |t| t.matches('\n').count() + 1)
}

/// The line each policy in `text` starts on (its first annotation or
/// `permit`/`forbid`), skipping comments and string literals.
fn policy_start_lines(text: &str) -> Vec<usize> {
    let mut starts = Vec::new();
    let (mut line, mut in_policy, mut in_string) = (1, false, false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => line += 1,
            _ if in_string => match c {
                '\\' => {
                    chars.next();
                }
                '"' => in_string = false,
                _ => {}
            },
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        line += 1;
                        break;
                    }
                }
            }
            '"' => in_string = true,
            ';' => in_policy = false,
            c if c.is_whitespace() => {}
            _ if !in_policy => {
                in_policy = true;
                starts.push(line);
            }
            _ => {}
        }
    }
    starts
}

/// `file:line: message` for a diagnostic whose labels point into `text`.
fn located(file: &str, text: &str, d: &dyn Diagnostic, message: String) -> String {
    let line = d
        .labels()
        .and_then(|mut l| l.next())
        .map(|l| line_of(text, l.offset()));
    match line {
        Some(line) => format!("{file}:{line}: {message}"),
        None => format!("{file}: {message}"),
    }
}

/// Parse every source, re-id each policy (`@id("…")` if given, else
/// `file#n`), and validate the whole set in strict mode.
pub fn parse_and_validate(
    sources: &[PolicySource],
    schema: &Schema,
) -> Result<(PolicySet, HashMap<String, String>), PolicyError> {
    let mut all = PolicySet::new();
    // id -> (file, text) to place validation diagnostics.
    let mut owner: HashMap<String, (String, usize)> = HashMap::new();
    let mut origins = HashMap::new();
    let mut parse_errors = Vec::new();
    for (si, src) in sources.iter().enumerate() {
        let set: PolicySet = match src.text.parse() {
            Ok(set) => set,
            Err(e) => {
                let errs: cedar_policy::ParseErrors = e;
                for err in errs.iter() {
                    parse_errors.push(located(&src.name, &src.text, err, err.to_string()));
                }
                continue;
            }
        };
        if set.templates().next().is_some() {
            return Err(PolicyError::Template(src.name.clone()));
        }
        let starts = policy_start_lines(&src.text);
        let mut policies: Vec<_> = set.policies().collect();
        // Cedar numbers policies policy0, policy1 … in text order.
        policies.sort_by_key(|p| {
            p.id()
                .to_string()
                .trim_start_matches("policy")
                .parse::<usize>()
                .unwrap_or(0)
        });
        for (n, p) in policies.into_iter().enumerate() {
            let id = p
                .annotation("id")
                .map(str::to_string)
                .unwrap_or_else(|| format!("{}#{n}", src.name));
            if let Some((first, _)) = owner.get(&id) {
                return Err(PolicyError::DuplicateId {
                    id,
                    first: first.clone(),
                    second: src.name.clone(),
                });
            }
            let line = starts.get(n).copied().unwrap_or(1);
            origins.insert(id.clone(), format!("{}:{line}", src.name));
            owner.insert(id.clone(), (src.name.clone(), si));
            all.add(p.new_id(PolicyId::new(&id)))
                .map_err(|e| PolicyError::Parse(e.to_string()))?;
        }
    }
    if !parse_errors.is_empty() {
        return Err(PolicyError::Parse(parse_errors.join("\n")));
    }
    let result = Validator::new(schema.clone()).validate(&all, ValidationMode::Strict);
    if !result.validation_passed() {
        let msgs: Vec<String> = result
            .validation_errors()
            .map(|e| {
                let id = e.policy_id().to_string();
                let message = format!("[{id}] {e}");
                match owner.get(&id) {
                    Some((file, si)) => located(file, &sources[*si].text, e, message),
                    None => message,
                }
            })
            .collect();
        return Err(PolicyError::Invalid(msgs.join("\n")));
    }
    Ok((all, origins))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_numbers_count_from_one() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 99), 3);
    }

    #[test]
    fn policy_starts_skip_comments_and_strings() {
        let text = "// a; comment\n@id(\"x;y\")\npermit(principal, action, resource);\n\n// b\nforbid(principal, action, resource)\n  when { context.args.node == \";\" };\n";
        assert_eq!(policy_start_lines(text), vec![2, 6]);
    }
}
