//! The console's pages in the access policy. Every page is open: the console signs its user in
//! itself (cookies) and every read or change it makes is an API call with the user's token,
//! which the API's own policy decides. A page without a session sends the browser to the
//! login page; a form without the session's CSRF token is refused.

use platform::policy::Operation;

/// A form with an appeal's attachment (the page's script puts the file in the form, base64).
const APPEAL_FORM_LIMIT: usize = 8 * 1024 * 1024;

/// The console's routes.
pub const POLICY: &[Operation] = &[
    Operation::public("GET", "/console"),
    Operation::public("GET", "/console/static/{file}"),
    Operation::public("GET", "/console/login"),
    Operation::public("POST", "/console/login"),
    Operation::public("POST", "/console/logout"),
    Operation::public("POST", "/console/language"),
    Operation::public("GET", "/console/queue"),
    Operation::public("GET", "/console/queue/live"),
    Operation::public("GET", "/console/unrouted"),
    Operation::public("POST", "/console/complaints/{id}/route"),
    Operation::public("GET", "/console/tickets/{id}"),
    Operation::public("POST", "/console/tickets/{id}/{action}"),
    Operation::public("GET", "/console/hotline"),
    Operation::public("POST", "/console/hotline"),
    Operation::public("GET", "/console/crews"),
    Operation::public("POST", "/console/crews"),
    Operation::public("GET", "/console/ledger"),
    Operation::public("POST", "/console/entries/{id}/appeal").limit(APPEAL_FORM_LIMIT),
    Operation::public("GET", "/console/appeals"),
    Operation::public("GET", "/console/jobs"),
    Operation::public("GET", "/console/targets"),
    Operation::public("GET", "/console/targets/tickets"),
    Operation::public("GET", "/console/ranking"),
    Operation::public("GET", "/console/suppliers/{id}"),
    Operation::public("POST", "/console/suppliers/{id}/{kind}"),
    Operation::public("GET", "/console/evidence/{id}"),
    Operation::public("GET", "/console/decisions"),
    Operation::public("POST", "/console/appeals/{id}/decide"),
    Operation::public("GET", "/console/what-if"),
    Operation::public("POST", "/console/publications"),
    Operation::public("GET", "/console/retrofit"),
    Operation::public("GET", "/console/map"),
    Operation::public("GET", "/console/exports/{file}"),
    Operation::public("GET", "/console/orders"),
    Operation::public("POST", "/console/orders"),
    Operation::public("POST", "/console/orders/{id}/acknowledge"),
    Operation::public("GET", "/console/refunds"),
    Operation::public("GET", "/console/refunds/{household}"),
    Operation::public("GET", "/board"),
];
