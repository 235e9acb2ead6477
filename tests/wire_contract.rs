//! docs/ARCHITECTURE.md's "Wire types" block is the declarations in src/ (`wire_struct!`,
//! `wire_enum!`), written out: this test fails when the two differ. After changing a wire
//! type, `UPDATE_DOCS=1 cargo test --test wire_contract` rewrites the block.

use captchaai_balance::alerts::AlertState;
use captchaai_balance::error::{ApiError, ErrorCode};
use captchaai_balance::level::BalanceLevel;
use captchaai_balance::monitor::{
    FailedCheck, HistoryPoint, MonitorState, PlanReason, Reading, RequestMark, TaggedOutcome,
};
use captchaai_balance::provider::{Family, ProviderId};
use captchaai_balance::settings::Settings;
use captchaai_balance::state::{Account, State};
use captchaai_balance::summary::{Status, View};
use captchaai_balance::view::{
    AccountView, AlertView, BadgeView, ErrorView, EstimateView, ForecastView, KeyStatusView,
    Observed, PlanView, ProviderView, RefreshView, RemainingView, RequestView, SettingsAnswer,
    SparklineView,
};
use captchaai_balance::wire::{contract_text, describe};

const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/ARCHITECTURE.md");
const START: &str = "<!-- wire types: generated from src/ by tests/wire_contract.rs -->\n";
const END: &str = "<!-- end of wire types -->";

fn generated() -> String {
    let types = [
        describe::<State>(),
        describe::<Account>(),
        describe::<Settings>(),
        describe::<MonitorState>(),
        describe::<AlertState>(),
        describe::<Reading>(),
        describe::<FailedCheck>(),
        describe::<ApiError>(),
        describe::<HistoryPoint>(),
        describe::<RequestMark>(),
        describe::<TaggedOutcome>(),
        describe::<PlanView>(),
        describe::<SettingsAnswer>(),
        describe::<Observed>(),
        describe::<AlertView>(),
        describe::<RequestView>(),
        describe::<ProviderView>(),
        describe::<View>(),
        describe::<AccountView>(),
        describe::<ForecastView>(),
        describe::<SparklineView>(),
        describe::<BadgeView>(),
        describe::<ErrorView>(),
        describe::<RefreshView>(),
        describe::<KeyStatusView>(),
        describe::<RemainingView>(),
        describe::<EstimateView>(),
    ];
    #[rustfmt::skip]
    let enums = [
        ("ErrorCode",    ErrorCode::all().map(ErrorCode::as_str).collect()),
        ("PlanReason",   PlanReason::ALL.iter().map(|r| r.as_str()).collect()),
        ("BalanceLevel", BalanceLevel::ALL.iter().map(|l| l.as_str()).collect()),
        ("Status",       Status::ALL.iter().map(|l| l.as_str()).collect()),
        ("ProviderId",   ProviderId::ALL.iter().map(|l| l.as_str()).collect()),
        ("Family",       Family::ALL.iter().map(|l| l.as_str()).collect()),
    ];
    contract_text(&types, &enums)
}

#[test]
fn the_docs_show_the_declared_wire_types() {
    let doc = std::fs::read_to_string(DOC).expect("docs/ARCHITECTURE.md");
    let start = doc
        .find(START)
        .expect("the wire types block's start marker")
        + START.len();
    let end = start
        + doc[start..]
            .find(END)
            .expect("the wire types block's end marker");
    let want = generated();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(DOC, format!("{}{}{}", &doc[..start], want, &doc[end..])).expect("write");
        return;
    }
    assert_eq!(
        doc[start..end],
        want,
        "docs/ARCHITECTURE.md's wire types differ from src/: run UPDATE_DOCS=1 cargo test --test wire_contract"
    );
}
