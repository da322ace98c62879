//! [`StorePopulationSystem`]: the reference population system, directly on the [`Store`].

use async_trait::async_trait;
use domain::id::CitizenId;
use domain::region::KioskCity;
use store::{PhotoReceipt, RedeemOutcome, Store};
use time::Date;

use crate::{
    CitizenRecord, HistoryPhoto, PopsysError, PopulationSystem, Receipt, ReceiptCode,
    ReceiptOutcome,
};

/// The population system on our own database (the demo's and the tests').
#[derive(Debug, Clone)]
pub struct StorePopulationSystem {
    store: Store,
}

impl StorePopulationSystem {
    /// Serves the population records of `store`.
    pub fn new(store: Store) -> StorePopulationSystem {
        StorePopulationSystem { store }
    }

    /// The store underneath.
    pub fn store(&self) -> &Store {
        &self.store
    }
}

fn receipt(stored: PhotoReceipt) -> Receipt {
    Receipt {
        last_valid_day: stored.last_valid_day(),
        code: stored.code,
        id: stored.id,
        created_on: stored.created_on,
        used_on: stored.used_on,
        jpeg: stored.jpeg,
    }
}

#[async_trait]
impl PopulationSystem for StorePopulationSystem {
    async fn citizen(
        &self,
        id: &CitizenId,
        city: &KioskCity,
        today: Date,
    ) -> Result<Option<CitizenRecord>, PopsysError> {
        let Some(view) = self.store.citizen_view(id, city, today).await? else {
            return Ok(None);
        };
        let citizen = view.citizen;
        Ok(Some(CitizenRecord {
            id: citizen.id,
            name: citizen.name,
            sex: citizen.sex,
            nation_code: citizen.nation_code,
            birth_date: citizen.birth_date,
            address: citizen.address,
            household_region: citizen.household_region,
            status: citizen.status,
            card: view.card,
            floating_registered: view.floating_registered,
            history_photo: view.history_photo,
            application_in_progress: view.application_in_progress,
            remote_area: citizen.remote_area,
        }))
    }

    async fn ready(&self) -> Result<(), PopsysError> {
        Ok(self.store.ping().await?)
    }

    async fn history_photo(&self, id: &CitizenId) -> Result<Option<HistoryPhoto>, PopsysError> {
        Ok(self
            .store
            .history_photo(id)
            .await?
            .map(|photo| HistoryPhoto {
                taken_on: photo.taken_on,
                jpeg: photo.jpeg,
            }))
    }

    async fn resolve_receipt(
        &self,
        code: &ReceiptCode,
        id: &CitizenId,
        today: Date,
    ) -> Result<ReceiptOutcome, PopsysError> {
        let Some(stored) = self.store.photo_receipt(code).await? else {
            return Ok(ReceiptOutcome::NotFound);
        };
        // Someone else's receipt, or one dated after today: as if it did not exist.
        if stored.id != *id || stored.created_on > today {
            return Ok(ReceiptOutcome::NotFound);
        }
        if let Some(used_on) = stored.used_on {
            return Ok(ReceiptOutcome::AlreadyUsed { used_on });
        }
        let last_valid_day = stored.last_valid_day();
        if today > last_valid_day {
            return Ok(ReceiptOutcome::Expired { last_valid_day });
        }
        Ok(ReceiptOutcome::Usable(receipt(stored)))
    }

    async fn redeem_receipt(
        &self,
        code: &ReceiptCode,
        id: &CitizenId,
        today: Date,
    ) -> Result<ReceiptOutcome, PopsysError> {
        Ok(match self.store.redeem_receipt(code, id, today).await? {
            RedeemOutcome::Redeemed(stored) => ReceiptOutcome::Usable(receipt(stored)),
            RedeemOutcome::NotFound => ReceiptOutcome::NotFound,
            RedeemOutcome::Expired { last_valid_day } => ReceiptOutcome::Expired { last_valid_day },
            RedeemOutcome::AlreadyUsed { used_on } => ReceiptOutcome::AlreadyUsed { used_on },
        })
    }
}
