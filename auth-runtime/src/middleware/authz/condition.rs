//! What a rule requires of a request's session: anyone, any session, a variant, a role or a
//! scope ([`Grants`]), or a predicate of your own.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use crate::session_types::SessionTypes;

/// Roles and scopes a session grants, for [`Condition::role`] and [`Condition::scope`]:
/// implement it for your session enum (both default to granting nothing).
pub trait Grants {
    /// Whether the session has `role`.
    fn has_role(&self, role: &str) -> bool {
        let _ = role;
        false
    }

    /// Whether the session has `scope`.
    fn has_scope(&self, scope: &str) -> bool {
        let _ = scope;
        false
    }
}

type Predicate<S> = dyn Fn(&S) -> bool + Send + Sync;

pub(super) enum Test<S> {
    /// With or without a session: a public route.
    Anyone,
    /// Any session.
    AnySession,
    /// A session for which the predicate holds.
    Session(Arc<Predicate<S>>),
}

/// What a rule requires of the request's session.
pub struct Condition<S> {
    pub(super) test: Test<S>,
    pub(super) label: String,
}

impl<S> fmt::Debug for Condition<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label)
    }
}

impl<S: SessionTypes> Condition<S> {
    /// Anyone, with a session or without: public routes.
    pub fn anyone() -> Self {
        Condition {
            test: Test::Anyone,
            label: "anyone".to_owned(),
        }
    }

    /// Any session.
    pub fn any_session() -> Self {
        Condition {
            test: Test::AnySession,
            label: "any session".to_owned(),
        }
    }

    /// A session of the newtype variant holding `T` (as `Require<T>` would extract it).
    pub fn variant<T: Any>() -> Self {
        let name = std::any::type_name::<T>();
        Condition::when(
            &format!("variant {}", name.rsplit("::").next().unwrap_or(name)),
            |session: &S| session.variant_any().is_some_and(|value| value.is::<T>()),
        )
    }

    /// A session for which `predicate` holds (`|s: &AppSession| matches!(s, AppSession::Admin(_))`);
    /// `label` names it in the rule table and the decision hook.
    pub fn when(label: &str, predicate: impl Fn(&S) -> bool + Send + Sync + 'static) -> Self {
        Condition {
            test: Test::Session(Arc::new(predicate)),
            label: label.to_owned(),
        }
    }
}

impl<S: SessionTypes + Grants> Condition<S> {
    /// A session with `role` ([`Grants::has_role`]).
    pub fn role(role: &str) -> Self {
        let owned = role.to_owned();
        Condition::when(&format!("role {role}"), move |session: &S| session.has_role(&owned))
    }

    /// A session with `scope` ([`Grants::has_scope`]).
    pub fn scope(scope: &str) -> Self {
        let owned = scope.to_owned();
        Condition::when(&format!("scope {scope}"), move |session: &S| session.has_scope(&owned))
    }
}

impl<S> Condition<S> {
    /// Whether this condition holds for every request `other` holds for: `anyone` covers
    /// everything, `any session` every condition on a session. Predicates cannot be compared,
    /// so a predicate covers only itself (the same rule).
    pub(super) fn covers(&self, other: &Condition<S>) -> bool {
        match (&self.test, &other.test) {
            (Test::Anyone, _) => true,
            (Test::AnySession, Test::AnySession | Test::Session(_)) => true,
            (Test::Session(mine), Test::Session(theirs)) => Arc::ptr_eq(mine, theirs),
            _ => false,
        }
    }

    pub(super) fn holds(&self, session: Option<&S>) -> bool {
        match (&self.test, session) {
            (Test::Anyone, _) => true,
            (Test::AnySession, session) => session.is_some(),
            (Test::Session(predicate), Some(session)) => predicate(session),
            (Test::Session(_), None) => false,
        }
    }
}
