//! WeChat Pay v3 against paysim, in process: the pay round trip, forged and duplicate callbacks,
//! expiry, and recovery by query after a lost callback.

mod harness;
mod round_trip;
