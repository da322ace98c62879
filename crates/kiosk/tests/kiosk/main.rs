//! The kiosk crate's integration tests as one binary (one link on a 2-core machine instead of
//! eight); each file is a module. Run one with `cargo test -p kiosk --test kiosk outbox::`.

mod support;

mod fleet;
mod liveness;
mod out_of_service;
mod outbox;
mod payment_methods;
mod photo_review;
mod portrait_form;
mod ui_touchscreen;
mod voice_reset;
