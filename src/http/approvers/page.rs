//! The approvers' pages: plain HTML forms, no script. Everything shown is
//! escaped; every form that changes something carries the session's
//! anti-CSRF token.

use std::fmt::Write as _;

use crate::approval::{ApprovalRequest, State};
use crate::util::markup_escape as esc;

/// The stylesheet, served from `/admin/style.css` so the pages' content
/// security policy allows no inline anything.
pub const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#1b1b1b}\
header{display:flex;justify-content:space-between;align-items:center;border-bottom:1px solid #ccc;margin-bottom:1rem}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #e3e3e3;vertical-align:top}\
dt{font-weight:600;margin-top:.6rem}dd{margin-left:0}pre{background:#f4f4f4;padding:.6rem;overflow:auto}\
.notice{padding:.6rem;border-radius:4px;background:#e8f3e8}.error{padding:.6rem;border-radius:4px;background:#fbe4e4}\
.destructive{color:#a40000;font-weight:600}form.answer{display:inline-block;margin-right:1.5rem;vertical-align:top}\
textarea{width:22rem;height:4rem}button{padding:.4rem 1rem}";

/// A whole page.
fn page(title: &str, who: Option<(&str, &str)>, body: &str) -> String {
    let signed_in = match who {
        Some((principal, csrf)) => format!(
            "<form method=\"post\" action=\"/admin/logout\"><span>Signed in as <strong>{}</strong></span> \
             <input type=\"hidden\" name=\"csrf\" value=\"{}\"><button type=\"submit\">Sign out</button></form>",
            esc(principal),
            esc(csrf)
        ),
        None => String::new(),
    };
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · Portcullis approvals</title><link rel=\"stylesheet\" href=\"/admin/style.css\"></head>\
         <body><header><h1><a href=\"/admin/\">Portcullis approvals</a></h1>{signed_in}</header>{body}</body></html>",
        title = esc(title),
    )
}

/// The sign-in form, with what went wrong last time if anything.
pub fn sign_in(error: Option<&str>) -> String {
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e)))
        .unwrap_or_default();
    page(
        "Sign in",
        None,
        &format!(
            "{error}<form method=\"post\" action=\"/admin/login\">\
             <p><label for=\"key\">Approver key</label><br>\
             <input id=\"key\" name=\"key\" type=\"password\" autocomplete=\"current-password\" size=\"60\" required></p>\
             <p><button id=\"sign-in\" type=\"submit\">Sign in</button></p></form>\
             <p>Approver keys are listed under <code>[[http.approver_keys]]</code> in the server's configuration \
             (make one with <code>portcullis api-key --approver --for NAME</code>).</p>"
        ),
    )
}

fn state(s: State) -> &'static str {
    match s {
        State::Pending => "waiting for approval",
        State::Approved => "approved, not run yet",
        State::Denied => "denied",
        State::Expired => "expired",
        State::Executed => "approved and run",
    }
}

fn when(t: std::time::SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// The requests still open.
pub fn list(requests: &[ApprovalRequest], principal: &str, csrf: &str) -> String {
    let mut body = String::from("<h2>Open requests</h2>");
    if requests.is_empty() {
        body.push_str("<p id=\"none\">No approval request is open.</p>");
    } else {
        body.push_str(
            "<table><thead><tr><th>Request</th><th>What</th><th>On</th><th>Asked by</th>\
             <th>Approvals</th><th>Expires</th></tr></thead><tbody>",
        );
        for r in requests {
            let _ = write!(
                body,
                "<tr><td><a class=\"request\" href=\"/admin/approvals/{id}\">{id}</a></td><td>{tool}{destructive}</td>\
                 <td>{target}<br><small>endpoint {endpoint}</small></td><td>{requester}</td><td>{have} of {need}</td><td>{expires}</td></tr>",
                id = esc(&r.id),
                tool = esc(&r.tool),
                destructive = if r.destructive { " <span class=\"destructive\">destructive</span>" } else { "" },
                target = esc(&r.target),
                endpoint = esc(&r.endpoint),
                requester = esc(&r.requester),
                have = r.approvals.len(),
                need = r.required,
                expires = when(r.expires),
            );
        }
        body.push_str("</tbody></table>");
    }
    page("Open requests", Some((principal, csrf)), &body)
}

/// What a page says above a request: the outcome of the last answer.
pub enum Flash<'a> {
    None,
    Notice(&'a str),
    Error(&'a str),
}

/// One request: exactly what will run, on what, asked by whom and why; the
/// forms to answer it while it waits.
pub fn detail(r: &ApprovalRequest, principal: &str, csrf: &str, flash: Flash) -> String {
    let mut body = match flash {
        Flash::None => String::new(),
        Flash::Notice(n) => format!("<p class=\"notice\" role=\"status\">{}</p>", esc(n)),
        Flash::Error(e) => format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e)),
    };
    let args = serde_json::to_string_pretty(&r.args).unwrap_or_else(|_| r.args.to_string());
    let answers: String = if r.approvals.is_empty() {
        ", none yet".into()
    } else {
        let items: String = r
            .approvals
            .iter()
            .map(|a| {
                format!(
                    "<li>{} at {}{}</li>",
                    esc(&a.by),
                    when(a.at),
                    if a.reason.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", esc(&a.reason))
                    }
                )
            })
            .collect();
        format!(":<ul>{items}</ul>")
    };
    let denial = r
        .denial
        .as_ref()
        .map(|d| {
            format!(
                "<dt>Denied</dt><dd>by {} at {}: {}</dd>",
                esc(&d.by),
                when(d.at),
                esc(&d.reason)
            )
        })
        .unwrap_or_default();
    let _ = write!(
        body,
        "<h2>Request <code id=\"request-id\">{id}</code></h2>\
         <p>State: <strong id=\"state\">{state}</strong></p>\
         <dl><dt>Tool</dt><dd><code>{tool}</code> (tier {tier}{destructive})</dd>\
         <dt>On</dt><dd><code>{target}</code>, endpoint <code>{endpoint}</code></dd>\
         <dt>Everything it touches</dt><dd>{targets}</dd>\
         <dt>Arguments, exactly as they will be sent (secrets withheld)</dt><dd><pre id=\"args\">{args}</pre></dd>\
         <dt>Asked by</dt><dd>{requester} (groups: {groups}) at {created}</dd>\
         <dt>Justification</dt><dd>{justification}</dd>\
         <dt>Approvals</dt><dd>{have} of {need}{answers}</dd>{denial}\
         <dt>Expires</dt><dd>{expires}</dd>\
         <dt>Policy set that asked</dt><dd><code>{policy_set}</code></dd></dl>",
        id = esc(&r.id),
        state = state(r.state),
        tool = esc(&r.tool),
        tier = esc(&r.tier),
        destructive = if r.destructive { ", <span class=\"destructive\">destructive</span>" } else { "" },
        target = esc(&r.target),
        endpoint = esc(&r.endpoint),
        targets = r.targets.iter().map(|t| format!("<code>{}</code>", esc(t))).collect::<Vec<_>>().join(", "),
        args = esc(&args),
        requester = esc(&r.requester),
        groups = if r.requester_groups.is_empty() { "none".into() } else { esc(&r.requester_groups.join(", ")) },
        created = when(r.created),
        justification = if r.justification.is_empty() { "<em>none given</em>".into() } else { esc(&r.justification) },
        have = r.approvals.len(),
        need = r.required,
        expires = when(r.expires),
        policy_set = esc(&r.policy_set),
    );
    if r.state == State::Pending {
        let action = format!("/admin/approvals/{}", esc(&r.id));
        let token = esc(csrf);
        let _ = write!(
            body,
            "<h3>Answer</h3>\
             <form class=\"answer\" method=\"post\" action=\"{action}\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{token}\"><input type=\"hidden\" name=\"decision\" value=\"approve\">\
             <p><label for=\"approve-reason\">Reason (optional)</label><br><textarea id=\"approve-reason\" name=\"reason\" maxlength=\"500\"></textarea></p>\
             <p><button id=\"approve\" type=\"submit\">Approve</button></p></form>\
             <form class=\"answer\" method=\"post\" action=\"{action}\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{token}\"><input type=\"hidden\" name=\"decision\" value=\"deny\">\
             <p><label for=\"deny-reason\">Reason (required, shown to the requester)</label><br><textarea id=\"deny-reason\" name=\"reason\" maxlength=\"500\" required></textarea></p>\
             <p><button id=\"deny\" type=\"submit\">Deny</button></p></form>"
        );
    }
    page(&format!("Request {}", r.id), Some((principal, csrf)), &body)
}

/// The approval store cannot be read (Redis down): say so, show nothing.
pub fn trouble(error: &str, principal: &str, csrf: &str) -> String {
    page(
        "Unavailable",
        Some((principal, csrf)),
        &format!("<p class=\"error\" role=\"alert\">{}</p>", esc(error)),
    )
}

/// A request that is not (or no longer) held.
pub fn not_found(id: &str, principal: &str, csrf: &str) -> String {
    page(
        "Not found",
        Some((principal, csrf)),
        &format!(
            "<p class=\"error\" role=\"alert\">No approval request {} is held here (unknown, or ended more than a day ago).</p>",
            esc(id)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sign_in_page_escapes_what_went_wrong() {
        let html = sign_in(Some("<script>alert(1)</script>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!html.contains("<script>"));
    }
}
