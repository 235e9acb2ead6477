//! The HTTP side: the URL map ([`routes`]), the balance and account API ([`api`]), mock mode's
//! control API ([`mock_api`]), the widget's files ([`static_files`]) and the accept loop with
//! its limits on slow clients ([`serve`]).

pub mod api;
pub mod mock_api;
pub mod routes;
pub mod serve;
pub mod static_files;
