//! The provider picker (SST's `onIndex`, OpenAuth's select page): what it lists, and the default
//! page.

use http::StatusCode;
use http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, HeaderValue, X_CONTENT_TYPE_OPTIONS};

use super::super::error::FlowResponse;
use super::super::error_page::respond;
use super::AUTHORIZATION_PARAMETER;

/// One provider as the picker offers it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ProviderChoice {
    /// The provider's name, as mounted (`code`, `google`).
    pub name: String,
    /// The name to show (`Google`, `GitHub`): the provider's label, or its mounted name.
    pub label: String,
    /// Where its flow starts: its authorize step.
    pub action: String,
    /// The field the person fills in to start it (the identity claim, `email` by default), for a
    /// flow whose account the requester names; such a flow starts with a form `POST`. `None` for
    /// an identity provider's flow, which starts with a link (`GET`).
    pub field: Option<String>,
}

/// What the picker shows: the providers, and the authorization in progress.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PickerPage {
    /// The providers to offer: every mounted one, or the one the request named.
    pub choices: Vec<ProviderChoice>,
    /// The client that asked.
    pub client_id: String,
    /// The authorization in progress: every form must send it as the
    /// [`authorization`](super::AUTHORIZATION_PARAMETER) field, every link as that query
    /// parameter ([`link`](Self::link) writes one).
    pub authorization: String,
}

impl PickerPage {
    /// The link that starts `choice`'s flow (for a choice without a field).
    pub fn link(&self, choice: &ProviderChoice) -> String {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair(AUTHORIZATION_PARAMETER, &self.authorization)
            .finish();
        format!("{}?{query}", choice.action)
    }
}

/// The default picker: one section per provider, a form for those that ask for an address and a
/// link for identity providers; plain HTML, no script, no external assets.
pub fn default_picker(page: &PickerPage) -> FlowResponse {
    let mut response = respond(StatusCode::OK, "text/html; charset=utf-8", page_html(page));
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // No script, no framing: the page is only forms and links to this origin.
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    response
}

/// The default picker's HTML.
fn page_html(page: &PickerPage) -> String {
    let mut body = String::from(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>Sign in</title>\
         <style>body{font:16px/1.5 system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem}\
         label{display:block;font-weight:600;margin:.5rem 0 .25rem}input{font:inherit;width:100%;\
         box-sizing:border-box;padding:.4rem}button,a.button{display:inline-block;font:inherit;margin:.5rem 0;\
         padding:.4rem .9rem}section{border-top:1px solid #ccc;padding:.5rem 0}</style><main><h1>Sign in</h1>",
    );
    body.push_str(&format!("<p>to continue to <b>{}</b></p>", escape(&page.client_id)));
    for choice in &page.choices {
        let (name, label) = (escape(&choice.name), escape(&choice.label));
        match &choice.field {
            Some(field) => {
                let input_type = if field == "email" { "email" } else { "text" };
                let field_label = escape(&capitalized(field));
                let field = escape(field);
                body.push_str(&format!(
                    "<section><form method=\"post\" action=\"{action}\">\
                     <input type=\"hidden\" name=\"{AUTHORIZATION_PARAMETER}\" value=\"{authorization}\">\
                     <label for=\"{name}-{field}\">{field_label}</label>\
                     <input id=\"{name}-{field}\" name=\"{field}\" type=\"{input_type}\" required>\
                     <button>Continue with {label}</button></form></section>",
                    action = escape(&choice.action),
                    authorization = escape(&page.authorization),
                ));
            }
            None => body.push_str(&format!(
                "<section><a class=\"button\" href=\"{}\">Continue with {label}</a></section>",
                escape(&page.link(choice))
            )),
        }
    }
    body.push_str("</main></html>");
    body
}

/// `field` as a label: `email` reads `Email`.
fn capitalized(field: &str) -> String {
    let mut chars = field.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// `text` safe inside HTML text and double-quoted attributes.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_provider_is_shown_by_its_label() {
        let page = PickerPage {
            choices: vec![
                ProviderChoice {
                    name: "code".into(),
                    label: "code".into(),
                    action: "https://auth.example.com/auth/code/authorize".into(),
                    field: Some("email".into()),
                },
                ProviderChoice {
                    name: "github".into(),
                    label: "GitHub".into(),
                    action: "https://auth.example.com/auth/github/authorize".into(),
                    field: None,
                },
            ],
            client_id: "web\"<".into(),
            authorization: "abc".into(),
        };
        assert_eq!(default_picker(&page).status(), StatusCode::OK);
        let html = page_html(&page);
        assert!(html.contains("<label for=\"code-email\">Email</label>"), "{html}");
        assert!(html.contains("<button>Continue with code</button>"), "{html}");
        assert!(
            html.contains(
                "href=\"https://auth.example.com/auth/github/authorize?authorization=abc\">Continue with GitHub</a>"
            ),
            "{html}"
        );
        assert!(html.contains("web&quot;&lt;"), "the client id is escaped: {html}");
    }
}
