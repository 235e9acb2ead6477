//! The HTTP side: the URL map ([`routes`]), who may read what ([`access`]: tokens, CORS, the
//! mock API's `Host`), the balance and account API ([`api`]), mock mode's control API
//! ([`mock_api`]), the widget's files ([`static_files`]) and the accept loop with its limits on
//! slow, idle and greedy clients ([`serve`]).

pub mod access;
pub mod api;
pub mod mock_api;
pub mod routes;
pub mod serve;
pub mod static_files;
