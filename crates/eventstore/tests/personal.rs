//! Data keys: sealed data opens while its key lives and never after it is erased; erasing a
//! resident or a household reaches exactly their keys; a key of a rolled-back write opens
//! nothing; rotation re-wraps every live key.

use eventstore::personal::{Erasing, Owner, Personal, Vault};
use secrets::Keyring;
use testkit::TestDb;

fn owner(subject: &str, resident: Option<&str>, household: Option<&str>) -> Owner {
    Owner {
        subject: subject.into(),
        resident: resident.map(str::to_owned),
        household: household.map(str::to_owned),
    }
}

/// What an event stores: the ciphertext alone, as read back from JSON.
fn stored<T: serde::Serialize + serde::de::DeserializeOwned>(p: &Personal<T>) -> Personal<T> {
    let json = serde_json::to_string(p).unwrap();
    serde_json::from_str(&json).unwrap()
}

#[tokio::test]
async fn sealed_data_opens_until_its_subject_is_erased() {
    let db = TestDb::new().await;
    let pool = db.config().pool();
    let vault = Vault::new(pool.clone(), Keyring::from_bytes([3; 32], &[]));
    let phone = vault
        .seal(
            &owner("account:r1", Some("r1"), None),
            "13912345678".to_owned(),
        )
        .await
        .unwrap();
    let json = serde_json::to_string(&phone).unwrap();
    assert!(!json.contains("13912345678"), "{json}");
    let words = vault
        .seal(
            &owner("complaint:c1", Some("r1"), Some("hh-1")),
            "cold".to_owned(),
        )
        .await
        .unwrap();
    let neighbour = vault
        .seal(
            &owner("complaint:c2", None, Some("hh-2")),
            "also cold".to_owned(),
        )
        .await
        .unwrap();
    // The account's key is found again, not made twice.
    let again = vault
        .seal(&owner("account:r1", Some("r1"), None), "x".to_owned())
        .await
        .unwrap();
    assert_eq!(again.key_id(), phone.key_id());
    // Another process (a fresh vault, no cache) opens what is stored.
    let other = Vault::new(pool.clone(), Keyring::from_bytes([3; 32], &[]));
    assert_eq!(
        other.open(&stored(&phone)).await.unwrap().as_deref(),
        Some("13912345678")
    );

    let client = pool.get().await.unwrap();
    let erased = vault
        .erase(&client, &Erasing::Resident("r1".into()))
        .await
        .unwrap();
    assert_eq!(erased, ["account:r1", "complaint:c1"]);
    assert_eq!(vault.open(&stored(&phone)).await.unwrap(), None);
    assert_eq!(vault.open(&stored(&words)).await.unwrap(), None);
    let fresh = Vault::new(pool.clone(), Keyring::from_bytes([3; 32], &[]));
    assert_eq!(fresh.open(&stored(&words)).await.unwrap(), None);
    assert_eq!(
        fresh.open(&stored(&neighbour)).await.unwrap().as_deref(),
        Some("also cold")
    );
    // The bytes of the key are gone from the table, not just flagged.
    let left: i64 = client
        .query_one(
            "SELECT count(*) FROM eventstore.data_key WHERE resident = 'r1' AND wrapped IS NOT NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
    // A resident who comes back gets a new key; the old data stays unreadable.
    let back = vault
        .seal(
            &owner("account:r1", Some("r1"), None),
            "13912345678".to_owned(),
        )
        .await
        .unwrap();
    assert_ne!(back.key_id(), phone.key_id());
    assert_eq!(fresh.open(&stored(&phone)).await.unwrap(), None);

    let households = vault
        .erase(&client, &Erasing::Household("hh-2".into()))
        .await
        .unwrap();
    assert_eq!(households, ["complaint:c2"]);
    // A process that read the key a moment ago trusts it for up to KEY_CACHE_TTL; any process
    // reading it now finds it gone.
    let later = Vault::new(pool.clone(), Keyring::from_bytes([3; 32], &[]));
    assert_eq!(later.open(&stored(&neighbour)).await.unwrap(), None);
    assert_eq!(
        vault.open(&stored(&neighbour)).await.unwrap(),
        None,
        "at once in the erasing process"
    );
}

#[tokio::test]
async fn a_key_whose_write_rolled_back_opens_nothing_and_rotation_rewraps_the_rest() {
    let db = TestDb::new().await;
    let pool = db.config().pool();
    let old = Keyring::from_bytes([4; 32], &[]);
    let vault = Vault::new(pool.clone(), old);
    let (key, data) = vault.new_key(owner("complaint:gone", None, None));
    let never = Personal::seal(key.id(), &data, "lost".to_owned());
    {
        let mut client = pool.get().await.unwrap();
        let tx = client.transaction().await.unwrap();
        key.store(&tx).await.unwrap();
        tx.rollback().await.unwrap();
    }
    let other = Vault::new(pool.clone(), Keyring::from_bytes([4; 32], &[]));
    assert_eq!(other.open(&stored(&never)).await.unwrap(), None);

    let kept = vault
        .seal(&owner("complaint:kept", None, None), "kept".to_owned())
        .await
        .unwrap();
    let rotated = Vault::new(pool.clone(), Keyring::from_bytes([5; 32], &[[4; 32]]));
    assert_eq!(rotated.rewrap().await.unwrap(), 1);
    assert_eq!(rotated.rewrap().await.unwrap(), 0, "once");
    let new_only = Vault::new(pool.clone(), Keyring::from_bytes([5; 32], &[]));
    assert_eq!(
        new_only.open(&stored(&kept)).await.unwrap().as_deref(),
        Some("kept")
    );
}
