//! The decision feed: every stored decision with its proposals, conflicts, vetoes and operations.

use arbiter_core::action::Action;
use arbiter_store::{DecisionFilter, DecisionPage};

use super::*;

fn action_text(action: &Action) -> String {
    serde_json::to_value(action)
        .ok()
        .and_then(|value| {
            let object = value.as_object()?;
            let kind = object.get("kind")?.as_str()?.to_owned();
            if let (Some(from), Some(to)) = (object.get("from"), object.get("to")) {
                return Some(format!("{kind} {from} → {to}"));
            }
            let rest: Vec<String> = object
                .iter()
                .filter(|(key, _)| *key != "kind" && *key != "workload")
                .map(|(key, value)| match value {
                    serde_json::Value::Null => format!("{key}=none"),
                    serde_json::Value::Number(number) if !number.is_i64() && !number.is_u64() => {
                        format!("{key}={}", super::number(number.as_f64().unwrap_or(0.0)))
                    }
                    other => format!("{key}={other}"),
                })
                .collect();
            Some(if rest.is_empty() {
                kind
            } else {
                format!("{kind} {}", rest.join(" "))
            })
        })
        .unwrap_or_else(|| format!("{action:?}"))
}

fn json_name<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        Ok(other) => other.to_string(),
        Err(_) => "unknown".to_owned(),
    }
}

/// Renders the decisions of one page as articles.
pub fn decision_feed(page: &DecisionPage) -> String {
    let mut out = String::new();
    for stored in &page.decisions {
        let decision = &stored.decision;
        let status = decision.execution.as_ref().map_or_else(
            || "none".to_owned(),
            |execution| json_name(&execution.status),
        );
        let _ = write!(
            out,
            r#"<article class="decision" id="decision-{id}"><h3>tick {tick} · {hours:.2} h · {workload} · {action} · chosen: {agent} {status}</h3>"#,
            id = stored.id,
            tick = decision.tick,
            hours = decision.time_s / 3600.0,
            workload = escape(&decision.workload),
            action = escape(&action_text(&decision.action)),
            agent = decision
                .chosen_agent
                .map_or_else(|| "none".to_owned(), |agent| escape(agent.label())),
            status = status_badge(&status),
        );
        let _ = write!(
            out,
            r#"<p class="note">spec.replicas {spec}, ready {ready}; forecast {mean} to {upper} cores, risk {risk} <span class="kind">estimated</span>. Reason: {reason}</p>"#,
            spec = decision.spec_replicas,
            ready = decision.ready_replicas,
            mean = number(decision.prediction.cpu_mean_cores),
            upper = number(decision.prediction.cpu_upper_cores),
            risk = number(decision.prediction.risk),
            reason = escape(&decision.reason),
        );
        out.push_str("<table class=\"proposals\"><tr><th>agent</th><th>priority</th><th>action</th><th>score</th><th>expected replicas / risk / W <span class=\"kind\">estimated</span></th><th>reason</th></tr>");
        for proposal in &decision.proposals {
            let _ = write!(
                out,
                r#"<tr><td>{agent}</td><td>{priority}</td><td>{action}</td><td class="num">{score}</td><td class="num">{replicas} / {risk} / {watts}</td><td>{reason}</td></tr>"#,
                agent = escape(proposal.agent.label()),
                priority = escape(&json_name(&proposal.priority)),
                action = escape(&action_text(&proposal.action)),
                score = number(proposal.score),
                replicas = proposal.effect.replicas,
                risk = number(proposal.effect.risk),
                watts = number(proposal.effect.watts),
                reason = escape(&proposal.reason),
            );
        }
        out.push_str("</table>");
        for conflict in &decision.conflicts {
            let _ = write!(
                out,
                "<p>Conflict: <code>{}</code></p>",
                escape(&serde_json::to_string(conflict).unwrap_or_default())
            );
        }
        for adjustment in &decision.adjustments {
            let _ = write!(
                out,
                "<p>Adjusted: agent {} asked for {} replicas, bound {} allows {}.</p>",
                escape(adjustment.agent.label()),
                adjustment.requested,
                escape(&json_name(&adjustment.bound)),
                adjustment.allowed,
            );
        }
        for veto in &decision.vetoes {
            let _ = write!(
                out,
                r#"<p class="veto">Veto of agent {} by bound <code>{}</code>: {}</p>"#,
                escape(veto.agent.label()),
                escape(&json_name(&veto.bound)),
                escape(&veto.reason),
            );
        }
        if !stored.operations.is_empty() {
            out.push_str("<table class=\"operations\"><tr><th>operation</th><th>command</th><th>status code</th><th>response or error</th></tr>");
            for operation in &stored.operations {
                let _ = write!(
                    out,
                    "<tr><td>{} <code>{} {}</code></td><td><code>{}</code></td><td class=\"num\">{}</td><td>{}</td></tr>",
                    escape(&operation.description),
                    escape(&operation.method),
                    escape(&operation.path),
                    escape(&operation.kubectl),
                    operation
                        .status_code
                        .map_or_else(|| "not sent".to_owned(), |code| code.to_string()),
                    escape(&operation.response),
                );
            }
            out.push_str("</table>");
        }
        out.push_str("</article>");
    }
    out
}

/// Query parameters of the decision feed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct FeedQuery {
    /// Workload key.
    pub workload: Option<String>,
    /// Proposing agent.
    pub agent: Option<String>,
    /// Execution status.
    pub status: Option<String>,
    /// Conflict kind.
    pub conflict: Option<String>,
    /// Page, from 1.
    pub page: Option<String>,
}

impl FeedQuery {
    fn filter(&self) -> DecisionFilter {
        let keep = |value: &Option<String>| value.clone().filter(|text| !text.is_empty());
        DecisionFilter {
            workload: keep(&self.workload),
            agent: keep(&self.agent),
            status: keep(&self.status),
            conflict: keep(&self.conflict),
        }
    }

    fn page(&self) -> Result<usize, WebError> {
        match self.page.as_deref().filter(|text| !text.is_empty()) {
            None => Ok(1),
            Some(text) => match text.parse::<usize>() {
                Ok(page) if page >= 1 => Ok(page),
                _ => Err(WebError::InvalidQuery {
                    parameter: "page",
                    value: text.to_owned(),
                    expected: "a whole number from 1",
                }),
            },
        }
    }

    fn link(&self, run: RunId, page: usize) -> String {
        let filter = self.filter();
        let mut query = vec![format!("page={page}")];
        for (name, value) in [
            ("workload", filter.workload),
            ("agent", filter.agent),
            ("status", filter.status),
            ("conflict", filter.conflict),
        ] {
            if let Some(value) = value {
                query.push(format!("{name}={}", percent_encode(&value)));
            }
        }
        format!("/runs/{run}/decisions?{}", query.join("&amp;"))
    }
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// Renders the decision feed with its filters and pagination.
pub fn decisions_page(store: &RunStore, run: RunId, query: &FeedQuery) -> Result<String, WebError> {
    store.run(run)?;
    let page = query.page()?;
    let filter = query.filter();
    let facets = store.facets(run)?;
    let result = store.decisions(run, &filter, page - 1, PAGE_SIZE)?;
    let (all, full) = store.decision_totals(run)?;
    let pages = ((result.total as usize).div_ceil(PAGE_SIZE)).max(1);

    let mut body = String::new();
    let _ = write!(
        body,
        r#"<p class="note">{all} decisions in this run; the {full} with a proposal, veto, conflict, action or operation are stored in full and listed here. The other {quiet} were Noop without proposals and are kept only as their prediction.</p>"#,
        quiet = all - full,
    );
    body.push_str(r#"<form class="filters" method="get">"#);
    let select = |name: &str, label: &str, values: &[String], chosen: &Option<String>| {
        let mut html =
            format!(r#"<label>{label} <select name="{name}"><option value="">any</option>"#);
        for value in values {
            let selected = if chosen.as_deref() == Some(value.as_str()) {
                " selected"
            } else {
                ""
            };
            let _ = write!(
                html,
                r#"<option value="{0}"{selected}>{0}</option>"#,
                escape(value)
            );
        }
        html.push_str("</select></label>");
        html
    };
    body.push_str(&select(
        "workload",
        "workload",
        &facets.workloads,
        &filter.workload,
    ));
    body.push_str(&select(
        "agent",
        "proposing agent",
        &facets.agents,
        &filter.agent,
    ));
    body.push_str(&select(
        "status",
        "execution status",
        &facets.statuses,
        &filter.status,
    ));
    body.push_str(&select(
        "conflict",
        "conflict kind",
        &facets.conflicts,
        &filter.conflict,
    ));
    body.push_str(r#"<button type="submit">Filter</button></form>"#);
    let _ = write!(
        body,
        r#"<p id="feed-count">{total} matching decisions, page {page} of {pages}.</p>"#,
        total = result.total,
    );
    if result.decisions.is_empty() {
        body.push_str(r#"<p class="note">No stored decision matches these filters.</p>"#);
    }
    body.push_str(r#"<div id="feed">"#);
    body.push_str(&decision_feed(&result));
    body.push_str("</div><nav class=\"pages\">");
    if page > 1 {
        let _ = write!(
            body,
            r#"<a href="{}">previous</a>"#,
            query.link(run, page - 1)
        );
    }
    if page < pages {
        let _ = write!(body, r#"<a href="{}">next</a>"#, query.link(run, page + 1));
    }
    body.push_str("</nav>");
    Ok(layout(
        &format!("Decisions of run {run}"),
        Some(run),
        &body,
        Links::Server,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_text_rounds_load_caps() {
        let cap = |cap_cores| Action::CapLoad {
            workload: "lab/web".to_owned(),
            cap_cores,
        };
        assert_eq!(
            action_text(&cap(Some(11.899_999_999_999_999))),
            "cap_load cap_cores=11.9"
        );
        assert_eq!(action_text(&cap(None)), "cap_load cap_cores=none");
        let scale = Action::Scale {
            workload: "lab/web".to_owned(),
            from: 13,
            to: 10,
        };
        assert_eq!(action_text(&scale), "scale 13 → 10");
    }
}
