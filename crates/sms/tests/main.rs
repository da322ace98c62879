//! The SMPP gateway against the SMSC simulator over real TCP on 127.0.0.1, and the simulator's
//! control API.

mod control;
mod gateway;

use std::net::SocketAddr;

use sms::sim::{start_smsc, SmscSimConfig, SmscSimHandle};
use sms::{SmppConfig, SmppGateway};

/// A notice of the center's length: over 70 characters, so two parts.
pub const NOTICE: &str =
    "【居民身份证】*晓燕，您的居民身份证申请（受理编号3201042026120700001）已受理，\
                          预计2027-02-05前制证完成，届时将短信通知您领取。";

pub const MOBILE: &str = "13800138000";

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A simulator on free ports expecting idkiosk / secret.
pub async fn smsc() -> SmscSimHandle {
    let config = SmscSimConfig {
        listen: loopback(),
        control: loopback(),
        system_id: "idkiosk".into(),
        password: "secret".into(),
    };
    match start_smsc(config).await {
        Ok(sim) => sim,
        Err(e) => panic!("starting the SMSC simulator: {e}"),
    }
}

/// The gateway's configuration for `sim`, with short timeouts.
pub fn config(sim: &SmscSimHandle, password: &str) -> SmppConfig {
    let mut config = SmppConfig::new(
        &sim.smpp_addr().to_string(),
        "idkiosk",
        password,
        "10690001",
    );
    config.connect_timeout_ms = 1_000;
    config.response_timeout_ms = 1_000;
    config
}

pub fn gateway(config: SmppConfig) -> SmppGateway {
    match SmppGateway::new(config) {
        Ok(g) => g,
        Err(e) => panic!("{e}"),
    }
}
