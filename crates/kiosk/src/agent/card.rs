//! The card reader (step 3) and the barcode scanner (step 6's receipt).

use std::sync::Arc;
use std::time::Duration;

use devices::{BarcodeScanner, CardReader, CardReaderError};
use domain::session::Event;
use time::Date;
use tokio::sync::mpsc;

use super::{Agent, Internal, Task, SCANNER};
use crate::capture::card_on_reader;

impl Agent {
    pub(super) fn read_card(&mut self) {
        let reader = self.ports.card_reader.clone();
        let today = self.today();
        let pause = self.config.policy.card_reader_pause;
        self.spawn_task(Task::Card, read(reader, today, pause));
    }

    /// The barcode scanner runs all the time; a code counts only on the scan-receipt screen.
    pub(super) fn spawn_scanner(&self) {
        let scanner = self.ports.barcode.clone();
        let pause = self.config.policy.scanner_pause;
        tokio::spawn(scan(scanner, self.internal.clone(), pause));
    }
}

/// Polls the reader until a card is read; one whose text block gives no valid number and dates
/// is unreadable.
async fn read(reader: Arc<dyn CardReader>, today: Date, pause: Duration) -> Option<Event> {
    loop {
        match reader.read_card().await {
            Ok(card) => {
                return Some(match card_on_reader(&card, today) {
                    Some((card, name)) => Event::CardRead { card, name },
                    None => Event::CardUnreadable,
                })
            }
            Err(CardReaderError::NoCard) => continue,
            Err(e @ CardReaderError::Status { .. }) => {
                tracing::info!(error = %e, "card unreadable");
                return Some(Event::CardUnreadable);
            }
            Err(e) => {
                tracing::warn!(error = %e, "card reader");
                tokio::time::sleep(pause).await;
            }
        }
    }
}

async fn scan(
    scanner: Arc<dyn BarcodeScanner>,
    tx: mpsc::UnboundedSender<Internal>,
    pause: Duration,
) {
    loop {
        match scanner.scan().await {
            Ok(code) => {
                let _ = tx.send(Internal::Event(SCANNER, Event::ReceiptScanned(code)));
            }
            Err(devices::BarcodeError::NoCode) => {}
            Err(e) => {
                tracing::warn!(error = %e, "barcode scanner");
                tokio::time::sleep(pause).await;
            }
        }
    }
}
