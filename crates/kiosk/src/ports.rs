//! Everything outside the agent that it talks to, each behind its trait. The agent carries out
//! commands on these; the fleet task reports their health (so both use this module, and neither
//! imports the other for it).

use std::sync::Arc;

use devices::{
    BarcodeScanner, Camera, CardReader, FingerprintScanner, PosTerminal, Printer, VideoRecorder,
};

use crate::capture::PhotoCropper;
use crate::center_api::CenterApi;

/// The agent's outside world.
#[derive(Clone)]
pub struct Ports {
    /// The center's session API.
    pub center: Arc<dyn CenterApi>,
    /// The ID card reader.
    pub card_reader: Arc<dyn CardReader>,
    /// The barcode scanner (photo receipts).
    pub barcode: Arc<dyn BarcodeScanner>,
    /// The fingerprint module.
    pub fingerprint: Arc<dyn FingerprintScanner>,
    /// The camera.
    pub camera: Arc<dyn Camera>,
    /// The ID photo cropper (face engine).
    pub cropper: Arc<dyn PhotoCropper>,
    /// The UnionPay terminal.
    pub pos: Arc<dyn PosTerminal>,
    /// The document printer.
    pub printer: Arc<dyn Printer>,
    /// The session video recorder, when one is attached.
    pub recorder: Option<Arc<dyn VideoRecorder>>,
}
