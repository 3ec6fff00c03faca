//! Authorization rules on typed sessions: one list for every route and gRPC method, first match
//! wins, deny by default ([`Rules`]). The session layer evaluates them once the session is known
//! ([`SessionLayerBuilder::authorize`](super::SessionLayerBuilder::authorize)).

use std::fmt::{self, Write as _};
use std::sync::Arc;

mod condition;

use self::condition::Test;
pub use self::condition::{Condition, Grants};
use crate::middleware::canonical::is_canonical;
use crate::middleware::skip::Pattern;
use crate::session_types::SessionTypes;

/// What a rule does when it decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// The request goes on to the handler.
    Allow,
    /// The request is refused: 401 without a session, 403 with one.
    Deny,
}

/// How a rule decides (the kind a rule table shows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    /// Matched and the condition holds: allowed; otherwise the next rule.
    Allow,
    /// Matched and the condition holds: denied; otherwise the next rule.
    Deny,
    /// Matched: allowed if the condition holds, denied if not. The pattern decides.
    Require,
}

struct Rule<S> {
    pattern: Pattern,
    condition: Condition<S>,
    action: Action,
}

impl<S> Rule<S> {
    /// Whether this rule's pattern matches `path` (already folded when the rules are case
    /// insensitive): the path itself, without one trailing slash, or, for a pattern ending in
    /// `/*`, the directory itself (`/admin/*` covers `/admin`, so a rule on a section always
    /// covers its index too).
    fn matches(&self, path: &str, trimmed: Option<&str>) -> bool {
        self.pattern.matches(path)
            || trimmed.is_some_and(|trimmed| self.pattern.matches(trimmed))
            || self
                .pattern
                .directory()
                .is_some_and(|directory| path == directory || trimmed == Some(directory))
    }
}

/// A rule table that does not do what it reads as doing: a rule that can never decide, because
/// an earlier rule (or, for a conditional `allow`, a later and broader `allow`) always decides
/// first. Refused by [`SessionLayerBuilder::build`](super::SessionLayerBuilder::build); see
/// [`Rules::check`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "authorization rule {rule} (`allow {pattern}` when {condition}) guards nothing: rule {by} (`allow {by_pattern}` when {by_condition}) allows every request it refuses. Write `require(\"{pattern}\", ..)`, where the pattern decides and a failed condition is 403, or move the broader rule"
)]
pub struct RulesError {
    /// The rule that guards nothing (its position, from 0).
    pub rule: usize,
    /// Its pattern.
    pub pattern: String,
    /// Its condition's label.
    pub condition: String,
    /// The later rule that makes it meaningless.
    pub by: usize,
    /// That rule's pattern.
    pub by_pattern: String,
    /// That rule's condition's label.
    pub by_condition: String,
}

/// What the rules decided for one request, for the decision hook (an audit log).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct DecisionRecord<'a> {
    /// The request path (gRPC: `/package.Service/Method`).
    pub path: &'a str,
    /// The deciding rule's position in the list (from 0), its pattern and its condition's label;
    /// `None` when the default decided, or the path was refused as not canonical.
    pub rule: Option<(usize, &'a str, &'a str)>,
    /// What was decided.
    pub decision: Decision,
    /// The session's subject, if there is a session and it has one.
    pub subject: Option<&'a str>,
}

/// The old name of [`DecisionRecord`].
#[deprecated(since = "0.3.0", note = "renamed `DecisionRecord`; its `effect` is now `decision`")]
pub type Decided<'a> = DecisionRecord<'a>;

type Hook = dyn Fn(&DecisionRecord<'_>) + Send + Sync;

/// What the rules decided for a request: [`Rules::evaluate`]'s answer, and what the decision
/// hook is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Allowed.
    Allow,
    /// Refused by a rule or the default.
    Deny,
    /// Refused: the path is not in canonical form.
    NotCanonical,
}

/// The old name of [`Decision`].
#[deprecated(since = "0.3.0", note = "renamed `Decision`")]
pub type Verdict = Decision;

/// An ordered list of authorization rules with a default.
///
/// A rule is a path pattern (the syntax of `skip`: `*` matches any run of characters; a gRPC
/// method is `/package.Service/Method`; a pattern ending in `/*` covers the directory itself
/// too) and a [`Condition`] on the session. Rules are tried in order:
///
/// - [`require`](Self::require): **the pattern decides.** A request to a matching path is allowed
///   when the condition holds and refused when it does not, whatever comes after. This is the
///   rule to guard a section with (Spring Security's `requestMatchers(..).hasRole(..)`).
/// - [`allow`](Self::allow) and [`deny`](Self::deny) (Connectum's rules): a matching rule whose
///   condition holds decides; one whose condition fails is skipped, and the next rule is tried.
///   A conditional `allow` followed by a broader `allow` is therefore no guard at all:
///   `.allow("/admin/*", role("admin")).allow("*", any_session())` lets every session into
///   `/admin`. [`check`](Self::check) finds that shape, and the session layer refuses to build
///   with it.
///
/// When no rule decides, the default does. A request refused without a session is `401`, with
/// one `403` (gRPC 16 and 7), in the layer's one JSON shape.
///
/// Paths are matched as the router would route them, never looser: a path that is not in
/// canonical form (`//`, `.` or `..` segments, a backslash, or percent-encoded `/`, `\`, `.` or
/// unreserved characters) is refused with `400` before any rule, since a router or proxy that
/// normalizes it could route it to a handler a rule meant to protect. A pattern matches the path
/// with or without one trailing slash. Matching is case sensitive, like axum's router;
/// [`Rules::case_insensitive`] for routers that are not.
///
/// ```
/// use auth_runtime::SessionTypes;
/// use auth_runtime::middleware::{Condition, Grants, Rules};
///
/// #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
/// struct Admin {
///     user_id: String,
/// }
///
/// #[derive(SessionTypes, Debug, Clone, PartialEq)]
/// enum AppSession {
///     User { user_id: String, roles: Vec<String> },
///     Admin(Admin),
/// }
///
/// impl Grants for AppSession {
///     fn has_role(&self, role: &str) -> bool {
///         matches!(self, AppSession::User { roles, .. } if roles.iter().any(|r| r == role))
///     }
/// }
///
/// let rules = Rules::<AppSession>::deny_by_default()
///     .public("/health")
///     .public("/grpc.health.v1.Health/*")
///     .require("/admin/*", Condition::variant::<Admin>())
///     .deny("/reports/export", Condition::role("intern"))
///     .require("/reports/*", Condition::role("analyst"))
///     .allow("*", Condition::any_session());
/// assert!(rules.check().is_ok());
/// println!("{}", rules.table());
/// ```
pub struct Rules<S> {
    rules: Vec<Rule<S>>,
    default: Effect,
    hook: Option<Arc<Hook>>,
    case_insensitive: bool,
}

impl<S> fmt::Debug for Rules<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.table())
    }
}

impl<S> Rules<S> {
    /// The effective rule table, one line per rule in order, then the default.
    pub fn table(&self) -> String {
        let mut table = String::new();
        for (index, rule) in self.rules.iter().enumerate() {
            let effect = match rule.action {
                Action::Allow => "allow  ",
                Action::Deny => "deny   ",
                Action::Require => "require",
            };
            let _ = writeln!(
                table,
                "{index:>3}  {effect}  {:<40}  {}",
                rule.pattern.text(),
                rule.condition.label
            );
        }
        let default = match self.default {
            Effect::Allow => "allow",
            Effect::Deny => "deny",
        };
        let _ = writeln!(table, "  *  {default:<7}  (default)");
        table
    }
}

impl<S: SessionTypes> Rules<S> {
    /// No rule yet; what no rule allows is refused.
    pub fn deny_by_default() -> Self {
        Rules {
            rules: Vec::new(),
            default: Effect::Deny,
            hook: None,
            case_insensitive: false,
        }
    }

    /// No rule yet; what no rule denies goes on. Prefer [`deny_by_default`](Self::deny_by_default):
    /// a route added later is then closed until a rule opens it.
    pub fn allow_by_default() -> Self {
        Rules {
            default: Effect::Allow,
            ..Rules::deny_by_default()
        }
    }

    /// Adds a rule where the pattern decides: a request to `pattern` is allowed when `condition`
    /// holds and refused (401 without a session, 403 with one) when it does not; no later rule
    /// is tried. Guard a section with it.
    pub fn require(self, pattern: &str, condition: Condition<S>) -> Self {
        self.push(pattern, condition, Action::Require)
    }

    /// Adds a rule: `pattern`, when `condition` holds, is allowed; when it does not, the next rule
    /// is tried (so a later, broader `allow` can let the request in: use
    /// [`require`](Self::require) to guard a section).
    pub fn allow(self, pattern: &str, condition: Condition<S>) -> Self {
        self.push(pattern, condition, Action::Allow)
    }

    /// Adds a rule: `pattern`, when `condition` holds, is denied.
    pub fn deny(self, pattern: &str, condition: Condition<S>) -> Self {
        self.push(pattern, condition, Action::Deny)
    }

    /// Adds a public route: `pattern` is allowed with or without a session.
    pub fn public(self, pattern: &str) -> Self {
        self.allow(pattern, Condition::anyone())
    }

    /// Adds a rule with `effect`: [`allow`](Self::allow) or [`deny`](Self::deny).
    pub fn rule(self, pattern: &str, condition: Condition<S>, effect: Effect) -> Self {
        let action = match effect {
            Effect::Allow => Action::Allow,
            Effect::Deny => Action::Deny,
        };
        self.push(pattern, condition, action)
    }

    fn push(mut self, pattern: &str, condition: Condition<S>, action: Action) -> Self {
        self.rules.push(Rule {
            pattern: Pattern::new(pattern, self.case_insensitive),
            condition,
            action,
        });
        self
    }

    /// Finds a conditional `allow` that guards nothing: a later `allow` whose pattern covers
    /// every path it matches and whose condition holds for every request it could refuse
    /// (`any session` after a role, `anyone` after anything). Such a table reads as protecting
    /// the first pattern and does not; [`SessionLayerBuilder::build`] refuses it. Patterns are
    /// compared as written: a later pattern covers an earlier one when they are equal or it is a
    /// prefix ending in `*` (`*`, `/*`, `/admin*`) of it.
    ///
    /// [`SessionLayerBuilder::build`]: super::SessionLayerBuilder::build
    pub fn check(&self) -> Result<(), RulesError> {
        for (index, rule) in self.rules.iter().enumerate() {
            if rule.action != Action::Allow || matches!(rule.condition.test, Test::Anyone) {
                continue;
            }
            let broader = self.rules[index + 1..].iter().enumerate().find(|(_, later)| {
                later.action == Action::Allow
                    && later.condition.covers(&rule.condition)
                    && later.pattern.covers(&rule.pattern)
            });
            if let Some((offset, later)) = broader {
                return Err(RulesError {
                    rule: index,
                    pattern: rule.pattern.text().to_owned(),
                    condition: rule.condition.label.clone(),
                    by: index + 1 + offset,
                    by_pattern: later.pattern.text().to_owned(),
                    by_condition: later.condition.label.clone(),
                });
            }
        }
        Ok(())
    }

    /// Matches paths without regard to ASCII case, for routers that route that way (axum does
    /// not). Applies to the rules added after it.
    pub fn case_insensitive(mut self) -> Self {
        self.case_insensitive = true;
        self
    }

    /// Calls `hook` with every decision: which rule decided (or the default), what, for whom.
    pub fn on_decision(mut self, hook: impl Fn(&DecisionRecord<'_>) + Send + Sync + 'static) -> Self {
        self.hook = Some(Arc::new(hook));
        self
    }

    /// Decides for a request to `path` with `session` (and its `subject`, for the hook).
    pub fn evaluate(&self, path: &str, session: Option<&S>, subject: Option<&str>) -> Decision {
        if !is_canonical(path) {
            self.tell(path, None, Decision::NotCanonical, subject);
            return Decision::NotCanonical;
        }
        self.evaluate_canonical(path, session, subject)
    }

    /// [`evaluate`](Self::evaluate) for a `path` already known to be canonical (the session
    /// layer refuses the others before `skip`, so it does not check twice).
    pub(crate) fn evaluate_canonical(&self, path: &str, session: Option<&S>, subject: Option<&str>) -> Decision {
        let folded;
        let path_seen = if self.case_insensitive {
            folded = path.to_ascii_lowercase();
            folded.as_str()
        } else {
            path
        };
        // `/admin/` is `/admin` with a trailing slash: a pattern matches either.
        let trimmed = path_seen.strip_suffix('/').filter(|trimmed| !trimmed.is_empty());
        for (index, rule) in self.rules.iter().enumerate() {
            if !rule.matches(path_seen, trimmed) {
                continue;
            }
            let decision = match (rule.action, rule.condition.holds(session)) {
                (Action::Allow | Action::Require, true) => Decision::Allow,
                (Action::Deny, true) | (Action::Require, false) => Decision::Deny,
                (Action::Allow | Action::Deny, false) => continue,
            };
            self.tell(
                path,
                Some((index, rule.pattern.text(), rule.condition.label.as_str())),
                decision,
                subject,
            );
            return decision;
        }
        let decision = decided_by(self.default);
        self.tell(path, None, decision, subject);
        decision
    }

    fn tell(&self, path: &str, rule: Option<(usize, &str, &str)>, decision: Decision, subject: Option<&str>) {
        crate::telemetry::event!(
            debug,
            AUTHZ,
            path,
            rule = rule.map(|(index, _, _)| index),
            pattern = rule.map(|(_, pattern, _)| pattern),
            decision = ?decision,
            "authorization decided"
        );
        if let Some(hook) = &self.hook {
            hook(&DecisionRecord {
                path,
                rule,
                decision,
                subject,
            });
        }
    }
}

/// The decision a rule's effect makes.
fn decided_by(effect: Effect) -> Decision {
    match effect {
        Effect::Allow => Decision::Allow,
        Effect::Deny => Decision::Deny,
    }
}
