//! Donor matching: the scoring table, single and batch resolution (which must agree), in-batch
//! duplicates, merges and their exact undo, and review decisions. Runs on SQLite, and on
//! PostgreSQL when FURUSATO_TEST_DATABASE_URL is set.

use std::collections::HashMap;

use furusato_db::audit::{self, AuditEntry, AuditFilter};
use furusato_db::donations::{self, NewDonation};
use furusato_db::donors::{self, NewDonor};
use furusato_db::matching as store;
use furusato_db::municipalities::{self, NewMunicipality};
use furusato_db::testing::{TestDb, test_db};
use furusato_db::{MunicipalityId, with_db};
use furusato_intake::matching::{
    self, Link, MatchError, MatchKeys, MergeOrigin, Outcome, Rule, SourceRef, merge_donors,
    merge_review, reject_review, resolve_donor, resolve_donors, resolve_donors_detailed,
    undo_merge,
};
use time::{Date, Month};
use uuid::Uuid;

async fn setup() -> (TestDb, MunicipalityId) {
    let db = test_db().await;
    let m = municipalities::insert(
        &db,
        &NewMunicipality {
            code: "041009".into(),
            name: "仙台市".into(),
            prefecture_code: 4,
            mayor_title: "仙台市長".into(),
            mayor_name: "試験 太郎".into(),
            ..Default::default()
        },
    )
    .await
    .expect("municipality");
    (db, m.tenant())
}

fn person(
    family: &str,
    given: &str,
    fk: &str,
    gk: &str,
    phone: &str,
    postal: &str,
    address1: &str,
) -> NewDonor {
    NewDonor {
        family_name: family.into(),
        given_name: given.into(),
        family_kana: fk.into(),
        given_kana: gk.into(),
        postal_code: postal.into(),
        prefecture: "宮城県".into(),
        city: "仙台市青葉区".into(),
        address1: address1.into(),
        phone: phone.into(),
        email: "relay-1@pc.fw.rakuten.ne.jp".into(),
        ..Default::default()
    }
}

fn yamada() -> NewDonor {
    person(
        "山田",
        "太郎",
        "ヤマダ",
        "タロウ",
        "090-1234-5678",
        "9800811",
        "一番町1-2-3",
    )
}

fn keys(d: &NewDonor) -> MatchKeys {
    MatchKeys::of_new(d)
}

fn src(external_id: &str) -> SourceRef<'_> {
    SourceRef {
        source: "rakuten",
        external_id,
    }
}

fn actor(tenant: MunicipalityId) -> AuditEntry {
    AuditEntry::cli(Some(tenant), "test")
}

fn day(d: u8) -> Date {
    Date::from_calendar_date(2026, Month::January, d).expect("date")
}

fn gift_donation(donor_id: Uuid, on: Date, external: &str) -> NewDonation {
    NewDonation {
        donor_id,
        channel: "portal".into(),
        portal: Some("rakuten".into()),
        external_id: Some(external.into()),
        amount: Some(10_000),
        donated_on: on,
        received_on: Some(on),
        applied_at: None,
        payment_method: "credit_card".into(),
        payment_status: "paid".into(),
        use_of_funds: String::new(),
        onestop_wanted: false,
        receipt_wanted: true,
        gift_declined: false,
        note: String::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Scoring table (pure)

#[test]
fn scoring_table() {
    let base = yamada();
    struct Case {
        what: &'static str,
        other: NewDonor,
        score: u8,
        rule: Rule,
        outcome: Outcome,
    }
    let cases = [
        Case {
            what: "identical",
            other: yamada(),
            score: 100,
            rule: Rule::KanaPhone,
            outcome: Outcome::Auto,
        },
        Case {
            what: "kana + phone, hiragana and full-width digits",
            other: NewDonor {
                family_kana: "やまだ".into(),
                given_kana: "たろう".into(),
                phone: "０９０ー１２３４ー５６７８".into(),
                ..yamada()
            },
            score: 100,
            rule: Rule::KanaPhone,
            outcome: Outcome::Auto,
        },
        Case {
            what: "kana + postal + address, other phone, 髙/高 in the name",
            other: NewDonor {
                family_name: "髙田".into(),
                phone: "022-214-1111".into(),
                address1: "一番町一丁目2番3号".into(),
                ..yamada()
            },
            score: 100,
            rule: Rule::KanaAddress,
            outcome: Outcome::Auto,
        },
        Case {
            what: "address with a building the other lacks",
            other: NewDonor {
                phone: String::new(),
                address2: "サンプルビル101".into(),
                ..yamada()
            },
            score: 100,
            rule: Rule::KanaAddress,
            outcome: Outcome::Auto,
        },
        Case {
            what: "no kana on one side: name stands in",
            other: NewDonor {
                family_kana: String::new(),
                given_kana: String::new(),
                ..yamada()
            },
            score: 95,
            rule: Rule::KanaPhone,
            outcome: Outcome::Auto,
        },
        Case {
            what: "moved house: kana + phone, new address",
            other: NewDonor {
                postal_code: "1000001".into(),
                prefecture: "東京都".into(),
                city: "千代田区".into(),
                address1: "千代田1-1".into(),
                ..yamada()
            },
            score: 85,
            rule: Rule::Moved,
            outcome: Outcome::Review,
        },
        Case {
            what: "kana + name + postal, address written differently, no phone",
            other: NewDonor {
                phone: String::new(),
                address1: "一番町1-5-9".into(),
                ..yamada()
            },
            score: 80,
            rule: Rule::KanaNamePostal,
            outcome: Outcome::Review,
        },
        Case {
            what: "same name, phone, different reading",
            other: NewDonor {
                family_kana: "ヤマタ".into(),
                ..yamada()
            },
            score: 70,
            rule: Rule::ReadingDiffers,
            outcome: Outcome::Review,
        },
        Case {
            what: "kana + postal, different kanji and street",
            other: NewDonor {
                family_name: "八間田".into(),
                phone: String::new(),
                address1: "一番町4-4-4".into(),
                ..yamada()
            },
            score: 60,
            rule: Rule::KanaPostal,
            outcome: Outcome::Review,
        },
        Case {
            what: "same phone, different person (family landline)",
            other: NewDonor {
                given_name: "花子".into(),
                given_kana: "ハナコ".into(),
                ..yamada()
            },
            score: 55,
            rule: Rule::SharedPhone,
            outcome: Outcome::Review,
        },
        Case {
            what: "同姓同名 elsewhere",
            other: person(
                "山田",
                "太郎",
                "ヤマダ",
                "タロウ",
                "03-1111-2222",
                "0600001",
                "北一条西1",
            ),
            score: 40,
            rule: Rule::SameName,
            outcome: Outcome::New,
        },
        Case {
            what: "nothing in common",
            other: person(
                "佐藤",
                "花子",
                "サトウ",
                "ハナコ",
                "080-9999-0000",
                "0600001",
                "北一条西1",
            ),
            score: 0,
            rule: Rule::NoMatch,
            outcome: Outcome::New,
        },
    ];
    for c in cases {
        let s = matching::score(&keys(&c.other), &keys(&base));
        assert_eq!(
            (s.value, s.rule, s.outcome()),
            (c.score, c.rule, c.outcome),
            "{}: {s:?}",
            c.what
        );
        // Symmetric.
        assert_eq!(
            matching::score(&keys(&base), &keys(&c.other)).value,
            c.score,
            "{} (reversed)",
            c.what
        );
    }
}

#[test]
fn e_mail_is_never_compared() {
    let a = yamada();
    let b = NewDonor {
        email: "someone-else@pc.fw.rakuten.ne.jp".into(),
        ..yamada()
    };
    assert_eq!(
        matching::score(&keys(&a), &keys(&b)).value,
        100,
        "different relay address, same person"
    );
    let c = NewDonor {
        email: a.email.clone(),
        ..person(
            "佐藤",
            "花子",
            "サトウ",
            "ハナコ",
            "080-9999-0000",
            "0600001",
            "北一条西1",
        )
    };
    let s = matching::score(&keys(&a), &keys(&c));
    assert_eq!(s.value, 0, "same relay address proves nothing");
    assert!(s.matched.is_empty());
}

#[test]
fn reasons_list_every_agreeing_criterion() {
    let moved = NewDonor {
        postal_code: "1000001".into(),
        prefecture: "東京都".into(),
        city: "千代田区".into(),
        ..yamada()
    };
    let s = matching::score(&keys(&moved), &keys(&yamada()));
    assert_eq!(s.reason_codes(), vec!["kana", "name", "phone"]);
}

// ---------------------------------------------------------------------------------------------
// Resolution

async fn count(db: &TestDb, sql: &str, tenant: MunicipalityId) -> i64 {
    let sql = sql.to_string();
    with_db!(&db.db, |pool| sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(tenant.0)
        .fetch_one(pool)
        .await
        .expect("count"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_links_exact_matches_queues_likely_ones_and_records_sources() {
    let (db, tenant) = setup().await;
    let mut tx = db.begin().await.unwrap();
    let first = resolve_donor(&mut tx, tenant, &yamada(), src("100-1"))
        .await
        .unwrap();
    assert_eq!(first.link, Link::New);
    let again = resolve_donor(
        &mut tx,
        tenant,
        &NewDonor {
            email: "other@example.jp".into(),
            ..yamada()
        },
        src("100-2"),
    )
    .await
    .unwrap();
    assert_eq!(
        again,
        matching::Resolved {
            donor_id: first.donor_id,
            link: Link::Auto
        }
    );

    let moved = NewDonor {
        postal_code: "1000001".into(),
        prefecture: "東京都".into(),
        city: "千代田区".into(),
        address1: "千代田1-1".into(),
        ..yamada()
    };
    let r = resolve_donors_detailed(&mut tx, tenant, &[(moved, src("100-3"))])
        .await
        .unwrap()
        .remove(0);
    assert_eq!(r.link, Link::New);
    assert_ne!(r.donor_id, first.donor_id);
    assert_eq!((r.score, r.candidate_id), (85, Some(first.donor_id)));
    let review_id = r.review_id.expect("a review for the likely duplicate");

    let stranger = person(
        "佐藤",
        "花子",
        "サトウ",
        "ハナコ",
        "080-9999-0000",
        "0600001",
        "北一条西1",
    );
    let s = resolve_donors_detailed(&mut tx, tenant, &[(stranger, src("100-4"))])
        .await
        .unwrap()
        .remove(0);
    assert_eq!((s.link, s.score, s.review_id), (Link::New, 0, None));
    tx.commit().await.unwrap();

    let page = store::pending_reviews(&db, tenant, 1, 50).await.unwrap();
    assert_eq!(page.items.len(), 1);
    let review = &page.items[0];
    assert_eq!(
        (
            review.id,
            review.donor_id,
            review.candidate_id,
            review.score
        ),
        (review_id, r.donor_id, first.donor_id, 85)
    );
    assert_eq!(review.reason_codes(), vec!["kana", "name", "phone"]);

    let sources = store::sources_for_donor(&db, tenant, first.donor_id)
        .await
        .unwrap();
    let links: Vec<(&str, &str)> = sources
        .iter()
        .map(|s| (s.external_id.as_str(), s.link.as_str()))
        .collect();
    assert_eq!(links, vec![("100-1", "new"), ("100-2", "auto")]);
    let snap: serde_json::Value = serde_json::from_str(&sources[0].snapshot).unwrap();
    assert_eq!(snap["name"], "山田 太郎");
    assert_eq!(snap["phone"], "090-1234-5678");
    assert!(
        snap.get("email").is_none(),
        "the relay address is not kept as evidence"
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM donor_sources WHERE municipality_id = $1",
            tenant
        )
        .await,
        4
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM donors WHERE municipality_id = $1",
            tenant
        )
        .await,
        3
    );
}

/// People for the batch tests: existing donors, and a batch with exact duplicates (of existing
/// donors and of earlier rows), likely duplicates and strangers.
fn existing_people() -> Vec<NewDonor> {
    (0..12)
        .map(|i| {
            person(
                ["山田", "佐藤", "鈴木", "髙橋"][i % 4],
                ["太郎", "花子", "一郎"][i % 3],
                ["ヤマダ", "サトウ", "スズキ", "タカハシ"][i % 4],
                ["タロウ", "ハナコ", "イチロウ"][i % 3],
                &format!("090-1000-{:04}", i),
                &format!("98008{:02}", i),
                &format!("一番町{}-1-1", i + 1),
            )
        })
        .collect()
}

fn batch_people(existing: &[NewDonor]) -> Vec<NewDonor> {
    let mut v = Vec::new();
    for (i, e) in existing.iter().enumerate().take(6) {
        match i % 3 {
            // Same person, other relay e-mail and hiragana kana.
            0 => v.push(NewDonor {
                email: format!("r{i}@pc.fw.rakuten.ne.jp"),
                family_kana: furusato_domain::kana::to_katakana(&e.family_kana),
                ..e.clone()
            }),
            // Moved house: review.
            1 => v.push(NewDonor {
                postal_code: "1000001".into(),
                prefecture: "東京都".into(),
                city: "千代田区".into(),
                ..e.clone()
            }),
            // Family member on the same phone: review at a lower score.
            _ => v.push(NewDonor {
                given_name: "次郎".into(),
                given_kana: "ジロウ".into(),
                ..e.clone()
            }),
        }
    }
    // New people, one of whom appears three times (once moved).
    let newcomer = person(
        "伊藤",
        "健",
        "イトウ",
        "ケン",
        "080-2222-3333",
        "9893201",
        "吉成1-1-1",
    );
    v.push(newcomer.clone());
    v.push(person(
        "小林",
        "愛",
        "コバヤシ",
        "アイ",
        "080-4444-5555",
        "9820011",
        "長町1-1",
    ));
    v.push(NewDonor {
        email: "x@example.jp".into(),
        ..newcomer.clone()
    });
    v.push(NewDonor {
        postal_code: "0600001".into(),
        prefecture: "北海道".into(),
        city: "札幌市中央区".into(),
        address1: "北一条西1".into(),
        ..newcomer
    });
    v.push(person("渡辺", "誠", "ワタナベ", "マコト", "", "", ""));
    v
}

/// Where each batch row ended up, independent of generated ids: an existing donor (by index),
/// or the batch row that created the donor; plus the link, score and the review partner the
/// same way.
#[derive(Debug, PartialEq, Eq)]
struct Shape {
    target: String,
    link: Link,
    score: u8,
    review_with: Option<String>,
}

async fn seed_existing(db: &TestDb, tenant: MunicipalityId) -> Vec<Uuid> {
    let mut tx = db.begin().await.unwrap();
    let mut ids = Vec::new();
    for (i, p) in existing_people().iter().enumerate() {
        let ext = format!("seed-{i}");
        ids.push(
            resolve_donor(&mut tx, tenant, p, src(&ext))
                .await
                .unwrap()
                .donor_id,
        );
    }
    tx.commit().await.unwrap();
    ids
}

fn shapes(existing: &[Uuid], rs: &[matching::Resolution]) -> Vec<Shape> {
    let mut created: HashMap<Uuid, usize> = HashMap::new();
    let name = |id: Uuid, created: &HashMap<Uuid, usize>| -> String {
        if let Some(i) = existing.iter().position(|e| *e == id) {
            format!("existing-{i}")
        } else {
            format!("row-{}", created.get(&id).copied().unwrap_or(usize::MAX))
        }
    };
    let mut out = Vec::new();
    for (row, r) in rs.iter().enumerate() {
        if r.link == Link::New {
            created.insert(r.donor_id, row);
        }
        out.push(Shape {
            target: name(r.donor_id, &created),
            link: r.link,
            score: r.score,
            review_with: r.review_id.and(r.candidate_id).map(|c| name(c, &created)),
        });
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_resolution_equals_one_by_one() {
    let existing = existing_people();
    let batch = batch_people(&existing);
    let ext: Vec<String> = (0..batch.len()).map(|i| format!("b-{i}")).collect();

    let (db_a, t_a) = setup().await;
    let ids_a = seed_existing(&db_a, t_a).await;
    let mut tx = db_a.begin().await.unwrap();
    let items: Vec<(NewDonor, SourceRef<'_>)> = batch
        .iter()
        .cloned()
        .zip(ext.iter().map(|e| src(e)))
        .collect();
    let batch_result = resolve_donors_detailed(&mut tx, t_a, &items).await.unwrap();
    tx.commit().await.unwrap();

    let (db_b, t_b) = setup().await;
    let ids_b = seed_existing(&db_b, t_b).await;
    let mut tx = db_b.begin().await.unwrap();
    let mut single = Vec::new();
    for (d, e) in batch.iter().zip(&ext) {
        single.push(
            resolve_donors_detailed(&mut tx, t_b, &[(d.clone(), src(e))])
                .await
                .unwrap()
                .remove(0),
        );
    }
    tx.commit().await.unwrap();

    // A large run's matcher (every donor loaded once), fed in other batch sizes.
    let (db_c, t_c) = setup().await;
    let ids_c = seed_existing(&db_c, t_c).await;
    let mut tx = db_c.begin().await.unwrap();
    let mut matcher = matching::Matcher::load(&mut tx, t_c).await.unwrap();
    assert_eq!(matcher.known(), 12, "the seeded donors are loaded");
    let mut loaded = Vec::new();
    for chunk in items.chunks(4) {
        let keys = chunk.iter().map(|(d, _)| MatchKeys::of_new(d)).collect();
        loaded.extend(matcher.resolve(&mut tx, chunk, keys).await.unwrap());
    }
    tx.commit().await.unwrap();

    let a = shapes(&ids_a, &batch_result);
    let b = shapes(&ids_b, &single);
    assert_eq!(a, b);
    assert_eq!(
        a,
        shapes(&ids_c, &loaded),
        "the matcher decides as the look-ups do"
    );
    // And the expected decisions, so that the comparison is not vacuous.
    assert_eq!(
        a[0],
        Shape {
            target: "existing-0".into(),
            link: Link::Auto,
            score: 100,
            review_with: None
        }
    );
    assert_eq!(
        (a[1].link, a[1].score, a[1].review_with.as_deref()),
        (Link::New, 85, Some("existing-1"))
    );
    assert_eq!(
        (a[2].link, a[2].score, a[2].review_with.as_deref()),
        (Link::New, 55, Some("existing-2"))
    );
    assert_eq!(a[6].target, "row-6");
    assert_eq!(
        a[8],
        Shape {
            target: "row-6".into(),
            link: Link::Auto,
            score: 100,
            review_with: None
        }
    );
    assert_eq!(
        (a[9].link, a[9].score, a[9].review_with.as_deref()),
        (Link::New, 85, Some("row-6"))
    );
    assert_eq!(
        (a[10].link, a[10].review_with.as_deref()),
        (Link::New, None)
    );

    // Same rows stored: donors, sources and reviews.
    for (db, t) in [(&db_a, t_a), (&db_b, t_b), (&db_c, t_c)] {
        assert_eq!(
            count(
                db,
                "SELECT COUNT(*) FROM donors WHERE municipality_id = $1",
                t
            )
            .await,
            12 + 8
        );
        assert_eq!(
            count(
                db,
                "SELECT COUNT(*) FROM donor_sources WHERE municipality_id = $1",
                t
            )
            .await,
            12 + 11
        );
        assert_eq!(
            count(
                db,
                "SELECT COUNT(*) FROM match_reviews WHERE municipality_id = $1",
                t
            )
            .await,
            5
        );
    }
    // The simple API gives the same links.
    let (db_c, t_c) = setup().await;
    seed_existing(&db_c, t_c).await;
    let mut tx = db_c.begin().await.unwrap();
    let plain = resolve_donors(&mut tx, t_c, &items).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        plain.iter().map(|r| r.link).collect::<Vec<_>>(),
        batch_result.iter().map(|r| r.link).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_inside_one_batch_link_to_each_other() {
    let (db, tenant) = setup().await;
    let twin = yamada();
    let items = vec![
        (twin.clone(), src("o-1")),
        (
            NewDonor {
                email: "second@example.jp".into(),
                ..twin.clone()
            },
            src("o-2"),
        ),
        (
            NewDonor {
                family_kana: "やまだ".into(),
                given_kana: "たろう".into(),
                ..twin
            },
            src("o-3"),
        ),
    ];
    let mut tx = db.begin().await.unwrap();
    let r = resolve_donors(&mut tx, tenant, &items).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(r[0].link, Link::New);
    assert_eq!((r[1].donor_id, r[1].link), (r[0].donor_id, Link::Auto));
    assert_eq!((r[2].donor_id, r[2].link), (r[0].donor_id, Link::Auto));
    assert_eq!(donors::count(&db, tenant).await.unwrap(), 1);
    assert_eq!(
        store::sources_for_donor(&db, tenant, r[0].donor_id)
            .await
            .unwrap()
            .len(),
        3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merged_donors_are_not_candidates() {
    let (db, tenant) = setup().await;
    let mut tx = db.begin().await.unwrap();
    let a = resolve_donor(&mut tx, tenant, &yamada(), src("a"))
        .await
        .unwrap();
    let b = donors::insert(&mut tx, tenant, &yamada()).await.unwrap();
    merge_donors(
        &mut tx,
        tenant,
        &actor(tenant),
        a.donor_id,
        b,
        MergeOrigin::Manual,
    )
    .await
    .unwrap();
    let again = resolve_donor(&mut tx, tenant, &yamada(), src("c"))
        .await
        .unwrap();
    assert_eq!(
        again.donor_id, a.donor_id,
        "the kept donor, never the merged one"
    );
    tx.commit().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Merge and undo

struct Pair {
    old: Uuid,
    new: Uuid,
    review: Uuid,
    old_donations: Vec<Uuid>,
    new_donations: Vec<Uuid>,
}

async fn pair_with_review(db: &TestDb, tenant: MunicipalityId) -> Pair {
    let mut tx = db.begin().await.unwrap();
    let old = resolve_donor(&mut tx, tenant, &yamada(), src("R-1"))
        .await
        .unwrap()
        .donor_id;
    let moved = NewDonor {
        postal_code: "1000001".into(),
        prefecture: "東京都".into(),
        city: "千代田区".into(),
        address1: "千代田1-1".into(),
        ..yamada()
    };
    let r = resolve_donors_detailed(
        &mut tx,
        tenant,
        &[(
            moved,
            SourceRef {
                source: "csv:choice",
                external_id: "C-9",
            },
        )],
    )
    .await
    .unwrap()
    .remove(0);
    let mut old_donations = Vec::new();
    for (i, d) in [1, 2].into_iter().enumerate() {
        old_donations.push(
            donations::insert(
                &mut tx,
                tenant,
                &gift_donation(old, day(d), &format!("R-{}", i + 1)),
            )
            .await
            .unwrap()
            .0,
        );
    }
    let mut new_donations = Vec::new();
    for (i, d) in [3, 4, 5].into_iter().enumerate() {
        let mut x = gift_donation(r.donor_id, day(d), &format!("C-{}", i + 9));
        x.portal = Some("choice".into());
        new_donations.push(donations::insert(&mut tx, tenant, &x).await.unwrap().0);
    }
    tx.commit().await.unwrap();
    old_donations.sort();
    new_donations.sort();
    Pair {
        old,
        new: r.donor_id,
        review: r.review_id.expect("review"),
        old_donations,
        new_donations,
    }
}

async fn donations_of(db: &TestDb, tenant: MunicipalityId, donor: Uuid) -> Vec<Uuid> {
    let mut v: Vec<Uuid> = donations::for_donor(db, tenant, donor)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect();
    v.sort();
    v
}

async fn source_ids(db: &TestDb, tenant: MunicipalityId, donor: Uuid) -> Vec<(Uuid, String)> {
    let mut v: Vec<(Uuid, String)> = store::sources_for_donor(db, tenant, donor)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.id, s.link))
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_moves_donations_and_sources_and_undo_restores_exactly() {
    let (db, tenant) = setup().await;
    let p = pair_with_review(&db, tenant).await;
    let before_old_sources = source_ids(&db, tenant, p.old).await;
    let before_new_sources = source_ids(&db, tenant, p.new).await;

    let mut tx = db.begin().await.unwrap();
    let out = merge_review(&mut tx, tenant, &actor(tenant), p.review, None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        (out.kept_id, out.merged_id, out.donations, out.sources),
        (p.old, p.new, 3, 1),
        "the older donor is kept"
    );

    let mut all = p.old_donations.clone();
    all.extend(&p.new_donations);
    all.sort();
    assert_eq!(donations_of(&db, tenant, p.old).await, all);
    assert!(donations_of(&db, tenant, p.new).await.is_empty());
    let merged = donors::get(&db, tenant, p.new).await.unwrap().unwrap();
    assert_eq!(merged.merged_into_id, Some(p.old));
    let kept_sources = store::sources_for_donor(&db, tenant, p.old).await.unwrap();
    assert_eq!(
        kept_sources.len(),
        before_old_sources.len() + before_new_sources.len() + 1
    );
    let marker = kept_sources
        .iter()
        .find(|s| s.source == "merge")
        .expect("merge marker");
    assert_eq!(
        (marker.link.as_str(), marker.external_id.clone()),
        ("reviewed", p.new.to_string())
    );
    // Trace: merge row, change records, audit entry, review decided.
    let merges = store::merges_for_donor(&db, tenant, p.old).await.unwrap();
    assert_eq!(merges.len(), 1);
    let moved = merges[0].moved().unwrap();
    assert_eq!(moved.donations, p.new_donations);
    assert_eq!(moved.review, Some(p.review));
    for d in &p.new_donations {
        let changes = furusato_db::source_records::changes(&db, tenant, *d)
            .await
            .unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].source, "merge");
    }
    assert!(
        store::pending_reviews(&db, tenant, 1, 10)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let audit = audit::search(
        &db,
        tenant,
        &AuditFilter {
            action: Some("donor.merge".into()),
            ..Default::default()
        },
        1,
        10,
    )
    .await
    .unwrap();
    assert_eq!(audit.items.len(), 1);
    let detail: serde_json::Value = serde_json::from_str(&audit.items[0].detail).unwrap();
    assert_eq!(
        (detail["donations"].as_i64(), detail["origin"].as_str()),
        (Some(3), Some("review"))
    );
    assert_eq!(audit.items[0].target_id, p.old.to_string());

    // A second decision on the same review is refused.
    let mut tx = db.begin().await.unwrap();
    assert!(matches!(
        merge_review(&mut tx, tenant, &actor(tenant), p.review, None).await,
        Err(MatchError::ReviewDecided)
    ));
    tx.rollback().await.unwrap();

    // Undo.
    let mut tx = db.begin().await.unwrap();
    let undone = undo_merge(&mut tx, tenant, &actor(tenant), out.merge_id)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!((undone.donations, undone.sources), (3, 1));
    assert_eq!(donations_of(&db, tenant, p.old).await, p.old_donations);
    assert_eq!(donations_of(&db, tenant, p.new).await, p.new_donations);
    assert_eq!(
        source_ids(&db, tenant, p.old).await,
        before_old_sources,
        "marker removed, sources back"
    );
    assert_eq!(source_ids(&db, tenant, p.new).await, before_new_sources);
    assert_eq!(
        donors::get(&db, tenant, p.new)
            .await
            .unwrap()
            .unwrap()
            .merged_into_id,
        None
    );
    let m = &store::merges_for_donor(&db, tenant, p.old).await.unwrap()[0];
    assert!(m.undone_at.is_some());
    let queue = store::pending_reviews(&db, tenant, 1, 10).await.unwrap();
    assert_eq!(
        queue.items.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![p.review],
        "back on the queue"
    );
    assert!(
        audit_actions(&db)
            .await
            .contains(&"donor.merge_undo".to_string())
    );

    let mut tx = db.begin().await.unwrap();
    assert!(matches!(
        undo_merge(&mut tx, tenant, &actor(tenant), out.merge_id).await,
        Err(MatchError::AlreadyUndone)
    ));
    tx.rollback().await.unwrap();
}

async fn audit_actions(db: &TestDb) -> Vec<String> {
    with_db!(&db.db, |pool| sqlx::query_scalar::<_, String>(
        "SELECT action FROM audit_log ORDER BY seq"
    )
    .fetch_all(pool)
    .await
    .unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_may_keep_the_newer_donor_and_merges_are_guarded() {
    let (db, tenant) = setup().await;
    let p = pair_with_review(&db, tenant).await;
    let mut tx = db.begin().await.unwrap();
    assert!(matches!(
        merge_review(
            &mut tx,
            tenant,
            &actor(tenant),
            p.review,
            Some(Uuid::now_v7())
        )
        .await,
        Err(MatchError::KeepNotInPair)
    ));
    tx.rollback().await.unwrap();
    let mut tx = db.begin().await.unwrap();
    let out = merge_review(&mut tx, tenant, &actor(tenant), p.review, Some(p.new))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        (out.kept_id, out.merged_id, out.donations),
        (p.new, p.old, 2)
    );

    let mut tx = db.begin().await.unwrap();
    assert!(matches!(
        merge_donors(
            &mut tx,
            tenant,
            &actor(tenant),
            p.new,
            p.new,
            MergeOrigin::Manual
        )
        .await,
        Err(MatchError::SameDonor)
    ));
    assert!(matches!(
        merge_donors(
            &mut tx,
            tenant,
            &actor(tenant),
            p.new,
            p.old,
            MergeOrigin::Manual
        )
        .await,
        Err(MatchError::AlreadyMerged)
    ));
    tx.rollback().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_is_refused_when_a_moved_donation_was_moved_again() {
    let (db, tenant) = setup().await;
    let p = pair_with_review(&db, tenant).await;
    let mut tx = db.begin().await.unwrap();
    let out = merge_review(&mut tx, tenant, &actor(tenant), p.review, None)
        .await
        .unwrap();
    let third = donors::insert(
        &mut tx,
        tenant,
        &person("佐藤", "花子", "サトウ", "ハナコ", "", "", ""),
    )
    .await
    .unwrap();
    let sql = "UPDATE donations SET donor_id = $1 WHERE id = $2";
    let moved_one = p.new_donations[0];
    furusato_db::with_tx!(&mut tx, |conn| sqlx::query(sql)
        .bind(third)
        .bind(moved_one)
        .execute(conn)
        .await
        .unwrap()
        .rows_affected());
    tx.commit().await.unwrap();
    let mut tx = db.begin().await.unwrap();
    let err = undo_merge(&mut tx, tenant, &actor(tenant), out.merge_id)
        .await
        .unwrap_err();
    assert!(matches!(err, MatchError::NotUndoable(_)), "{err:?}");
    assert!(err.message_ja().contains("取り消せません"));
    tx.rollback().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_requires_undoing_a_later_merge_of_the_kept_donor_first() {
    let (db, tenant) = setup().await;
    let p = pair_with_review(&db, tenant).await;
    let mut tx = db.begin().await.unwrap();
    let first = merge_review(&mut tx, tenant, &actor(tenant), p.review, None)
        .await
        .unwrap();
    let third = donors::insert(
        &mut tx,
        tenant,
        &person("佐藤", "花子", "サトウ", "ハナコ", "", "", ""),
    )
    .await
    .unwrap();
    let second = merge_donors(
        &mut tx,
        tenant,
        &actor(tenant),
        third,
        p.old,
        MergeOrigin::Manual,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(second.donations, 5);
    let mut tx = db.begin().await.unwrap();
    assert!(matches!(
        undo_merge(&mut tx, tenant, &actor(tenant), first.merge_id).await,
        Err(MatchError::NotUndoable(_))
    ));
    tx.rollback().await.unwrap();
    let mut tx = db.begin().await.unwrap();
    undo_merge(&mut tx, tenant, &actor(tenant), second.merge_id)
        .await
        .unwrap();
    undo_merge(&mut tx, tenant, &actor(tenant), first.merge_id)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(donations_of(&db, tenant, p.old).await, p.old_donations);
    assert_eq!(donations_of(&db, tenant, p.new).await, p.new_donations);
    assert!(donations_of(&db, tenant, third).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejecting_a_review_keeps_both_donors() {
    let (db, tenant) = setup().await;
    let p = pair_with_review(&db, tenant).await;
    assert_eq!(store::pending_count(&db, tenant).await.unwrap(), 1);
    let mut tx = db.begin().await.unwrap();
    reject_review(&mut tx, tenant, &actor(tenant), p.review)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store::pending_count(&db, tenant).await.unwrap(), 0);
    let reviews = store::reviews_for_donor(&db, tenant, p.new).await.unwrap();
    assert_eq!(
        (reviews[0].status.as_str(), reviews[0].decided_by.is_empty()),
        ("rejected", false)
    );
    assert_eq!(donations_of(&db, tenant, p.new).await, p.new_donations);
    assert!(
        donors::get(&db, tenant, p.new)
            .await
            .unwrap()
            .unwrap()
            .merged_into_id
            .is_none()
    );
    assert!(
        audit_actions(&db)
            .await
            .contains(&"match_review.reject".to_string())
    );
    let mut tx = db.begin().await.unwrap();
    assert!(matches!(
        reject_review(&mut tx, tenant, &actor(tenant), p.review).await,
        Err(MatchError::ReviewDecided)
    ));
    tx.rollback().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_hides_pairs_whose_donor_was_merged_elsewhere() {
    let (db, tenant) = setup().await;
    let p = pair_with_review(&db, tenant).await;
    let mut tx = db.begin().await.unwrap();
    let third = donors::insert(
        &mut tx,
        tenant,
        &person("佐藤", "花子", "サトウ", "ハナコ", "", "", ""),
    )
    .await
    .unwrap();
    let m = merge_donors(
        &mut tx,
        tenant,
        &actor(tenant),
        third,
        p.new,
        MergeOrigin::Manual,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store::pending_count(&db, tenant).await.unwrap(), 0);
    let mut tx = db.begin().await.unwrap();
    undo_merge(&mut tx, tenant, &actor(tenant), m.merge_id)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store::pending_count(&db, tenant).await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suggestions_rank_likely_duplicates() {
    let (db, tenant) = setup().await;
    let p = pair_with_review(&db, tenant).await;
    let old = donors::get(&db, tenant, p.old).await.unwrap().unwrap();
    let s = matching::suggestions(&db, tenant, &old).await.unwrap();
    assert_eq!(s.len(), 1);
    assert_eq!((s[0].0.id, s[0].1.value), (p.new, 85));
}
