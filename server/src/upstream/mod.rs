//! Where a balance reading comes from and what it means: the real APIs ([`proxy`]), the
//! simulated accounts of mock mode ([`mock`]), the one type over both ([`source`]), and the
//! verdict on each upstream answer with the answer clients get for it ([`answer`]).

pub mod answer;
pub mod mock;
pub mod proxy;
pub mod source;
