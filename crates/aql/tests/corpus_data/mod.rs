//! Writes the corpus datasets (`cargo test -p aql --test corpus -- --ignored write_datasets`):
//! compositions written as FLAT for the shared templates, converted to canonical JSON by the
//! template engine, so that every one of them passes the validation of the real commit path.
//! The datasets are committed; this is how they were made and how to change them.

use serde_json::{Map, Value, json};
use templates::flat::{FlatFormat, InputDefaults};

use super::{CorpusDataset, template};
use aql::eval::{ChangeType, ContributionData, EhrData, LifecycleState, ObjectKind, VersionData};

const SYSTEM_ID: &str = "kith.test";

fn flat(pairs: Vec<(String, Value)>) -> Map<String, Value> {
    pairs.into_iter().collect()
}

fn header(prefix: &str, start: &str, composer: &str) -> Vec<(String, Value)> {
    vec![
        (format!("{prefix}/language|code"), json!("en")),
        (format!("{prefix}/language|terminology"), json!("ISO_639-1")),
        (format!("{prefix}/territory|code"), json!("GB")),
        (
            format!("{prefix}/territory|terminology"),
            json!("ISO_3166-1"),
        ),
        (format!("{prefix}/composer|name"), json!(composer)),
        (format!("{prefix}/category|code"), json!("433")),
        (format!("{prefix}/category|value"), json!("event")),
        (format!("{prefix}/category|terminology"), json!("openehr")),
        (format!("{prefix}/context/setting|code"), json!("238")),
        (
            format!("{prefix}/context/setting|value"),
            json!("other care"),
        ),
        (
            format!("{prefix}/context/setting|terminology"),
            json!("openehr"),
        ),
        (format!("{prefix}/context/start_time"), json!(start)),
    ]
}

fn entry_header(path: &str) -> Vec<(String, Value)> {
    vec![
        (format!("{path}/language|code"), json!("en")),
        (format!("{path}/language|terminology"), json!("ISO_639-1")),
        (format!("{path}/encoding|code"), json!("UTF-8")),
        (
            format!("{path}/encoding|terminology"),
            json!("IANA_character-sets"),
        ),
    ]
}

/// Blood pressure events (systolic, diastolic, time), then pulse and temperature with
/// their times.
struct Vitals<'a> {
    start: &'a str,
    composer: &'a str,
    pressures: &'a [(f64, f64, &'a str)],
    pulse: Option<(f64, &'a str)>,
    temperature: Option<(f64, &'a str)>,
}

fn vital_signs(vitals: &Vitals<'_>) -> Map<String, Value> {
    let prefix = "ehrn_vital_signs.v2";
    let mut pairs = header(prefix, vitals.start, vitals.composer);
    if !vitals.pressures.is_empty() {
        let observation = format!("{prefix}/vital_signs:0/blood_pressure:0");
        pairs.extend(entry_header(&observation));
        for (index, (systolic, diastolic, time)) in vitals.pressures.iter().enumerate() {
            let event = format!("{observation}/any_event:{index}");
            pairs.push((format!("{event}/systolic|magnitude"), json!(systolic)));
            pairs.push((format!("{event}/systolic|unit"), json!("mm[Hg]")));
            pairs.push((format!("{event}/diastolic|magnitude"), json!(diastolic)));
            pairs.push((format!("{event}/diastolic|unit"), json!("mm[Hg]")));
            pairs.push((format!("{event}/time"), json!(time)));
        }
    }
    if let Some((rate, time)) = vitals.pulse {
        let observation = format!("{prefix}/vital_signs:0/pulse_heart_beat:0");
        pairs.extend(entry_header(&observation));
        pairs.push((
            format!("{observation}/any_event:0/pulse_rate|magnitude"),
            json!(rate),
        ));
        pairs.push((
            format!("{observation}/any_event:0/pulse_rate|unit"),
            json!("/min"),
        ));
        pairs.push((format!("{observation}/any_event:0/time"), json!(time)));
    }
    if let Some((degrees, time)) = vitals.temperature {
        let observation = format!("{prefix}/vital_signs:0/body_temperature:0");
        pairs.extend(entry_header(&observation));
        pairs.push((
            format!("{observation}/any_event:0/temperature|magnitude"),
            json!(degrees),
        ));
        pairs.push((
            format!("{observation}/any_event:0/temperature|unit"),
            json!("Cel"),
        ));
        pairs.push((format!("{observation}/any_event:0/time"), json!(time)));
    }
    flat(pairs)
}

/// Problems: (name, body sites, onset).
fn problem_list(start: &str, problems: &[(&str, &[&str], Option<&str>)]) -> Map<String, Value> {
    let prefix = "problem_list";
    let mut pairs = header(prefix, start, "Dr Ann Hale");
    for (index, (name, sites, onset)) in problems.iter().enumerate() {
        let problem = format!("{prefix}/problems_and_issues:0/problem_diagnosis:{index}");
        pairs.extend(entry_header(&problem));
        pairs.push((format!("{problem}/problem_diagnosis_name"), json!(name)));
        for (site_index, site) in sites.iter().enumerate() {
            pairs.push((format!("{problem}/body_site:{site_index}"), json!(site)));
        }
        if let Some(onset) = onset {
            pairs.push((format!("{problem}/date_time_of_onset"), json!(onset)));
        }
    }
    flat(pairs)
}

/// Reactions: (agent, SNOMED code, category code, criticality code, manifestation).
fn adverse_reactions(
    start: &str,
    reactions: &[(&str, &str, &str, &str, &str)],
) -> Map<String, Value> {
    let prefix = "adverse_reaction_list";
    let mut pairs = header(prefix, start, "Dr Jonty Shannon");
    for (index, (agent, code, category, criticality, manifestation)) in reactions.iter().enumerate()
    {
        let risk =
            format!("{prefix}/allergies_and_adverse_reactions/adverse_reaction_risk:{index}");
        pairs.extend(entry_header(&risk));
        pairs.push((format!("{risk}/causative_agent|value"), json!(agent)));
        pairs.push((format!("{risk}/causative_agent|code"), json!(code)));
        pairs.push((
            format!("{risk}/causative_agent|terminology"),
            json!("SNOMED-CT"),
        ));
        pairs.push((format!("{risk}/category|code"), json!(category)));
        pairs.push((format!("{risk}/criticality|code"), json!(criticality)));
        pairs.push((
            format!("{risk}/reaction_event:0/manifestation:0"),
            json!(manifestation),
        ));
        pairs.push((format!("{risk}/last_updated"), json!(start)));
    }
    flat(pairs)
}

/// The shared ReSPECT example with its CPR decision, decision date and signing clinician
/// changed (and the emergency contact's role one the template allows).
fn respect(cpr_code: &str, decided: &str, clinician: &str) -> Map<String, Value> {
    let path = format!(
        "{}/../../testdata/compositions/ReSPECT-3.v0.flat.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut document: Map<String, Value> =
        serde_json::from_slice(&std::fs::read(path).expect("respect example")).expect("json");
    let headings = "respect-3/respect_headings";
    document.insert(
        format!("{headings}/a4._clinical_recommendations/cpr_decision/cpr_decision|code"),
        json!(cpr_code),
    );
    document.insert(
        format!("{headings}/a4._clinical_recommendations/cpr_decision/date_of_cpr_decision"),
        json!(decided),
    );
    document.insert(
        format!("{headings}/a8._emergency_contacts/emergency_contacts/care_team/participant:0/role_and_relationship:0"),
        json!("Primary emergency contact"),
    );
    document.insert("ctx/composer_name".into(), json!(clinician));
    document.insert("ctx/time".into(), json!(decided));
    document
}

struct Builder {
    formats: Vec<(String, FlatFormat)>,
}

impl Builder {
    fn new() -> Builder {
        let formats = [
            "ehrn_vital_signs.v2.opt",
            "IDCR - Problem List.v1.opt",
            "IDCR - Adverse Reaction List.v1.opt",
            "ReSPECT-3.v0.opt",
        ]
        .iter()
        .map(|file| {
            let parsed = template(file);
            (parsed.template_id.clone(), FlatFormat::new(&parsed))
        })
        .collect();
        Builder { formats }
    }

    fn canonical(&self, template_id: &str, document: &Map<String, Value>, uid: &str) -> Value {
        let (_, format) = self
            .formats
            .iter()
            .find(|(id, _)| id == template_id)
            .unwrap_or_else(|| panic!("no template {template_id}"));
        let defaults = InputDefaults {
            time: Some("2024-01-01T00:00:00Z".into()),
        };
        let object = format
            .to_canonical(document, &defaults)
            .unwrap_or_else(|errors| panic!("{template_id}: {errors:#?}"));
        let mut value = openehr_rm::json::to_value(&object);
        value["uid"] = json!({ "_type": "OBJECT_VERSION_ID", "value": uid });
        value
    }
}

fn ehr_status(object_id: &str, version: u32, subject: Option<&str>, modifiable: bool) -> Value {
    let subject = match subject {
        Some(id) => json!({
            "_type": "PARTY_SELF",
            "external_ref": {
                "_type": "PARTY_REF",
                "id": { "_type": "GENERIC_ID", "value": id, "scheme": "NHS" },
                "namespace": "NHS",
                "type": "PERSON"
            }
        }),
        None => json!({ "_type": "PARTY_SELF" }),
    };
    json!({
        "_type": "EHR_STATUS",
        "name": { "_type": "DV_TEXT", "value": "EHR Status" },
        "archetype_node_id": "openEHR-EHR-EHR_STATUS.generic.v1",
        "uid": { "_type": "OBJECT_VERSION_ID", "value": format!("{object_id}::{SYSTEM_ID}::{version}") },
        "subject": subject,
        "is_queryable": true,
        "is_modifiable": modifiable
    })
}

fn folder(name: &str, node: &str, references: &[&str], folders: Vec<Value>) -> Value {
    let mut value = json!({
        "_type": "FOLDER",
        "name": { "_type": "DV_TEXT", "value": name },
        "archetype_node_id": node,
    });
    if !references.is_empty() {
        value["items"] = references
            .iter()
            .map(|id| {
                json!({
                    "_type": "OBJECT_REF",
                    "id": { "_type": "HIER_OBJECT_ID", "value": id },
                    "namespace": "local",
                    "type": "VERSIONED_COMPOSITION"
                })
            })
            .collect();
    }
    if !folders.is_empty() {
        value["folders"] = Value::Array(folders);
    }
    value
}

/// An EHR under construction: one contribution per call of `commit`.
struct Ehr {
    data: EhrData,
    number: u32,
}

impl Ehr {
    fn new(number: u32, time_created: &str, subject: Option<&str>) -> Ehr {
        let mut ehr = Ehr {
            data: EhrData {
                ehr_id: format!("e{number:07}-0000-4000-8000-000000000000"),
                system_id: SYSTEM_ID.into(),
                time_created: time_created.into(),
                contributions: Vec::new(),
            },
            number,
        };
        let status_id = ehr.object_id(0);
        ehr.commit(
            time_created,
            "Kith Admin",
            vec![version(
                ObjectKind::EhrStatus,
                &status_id,
                1,
                ehr_status(&status_id, 1, subject, true),
            )],
        );
        ehr
    }

    /// The `index`th object of this EHR (0 is its EHR_STATUS).
    fn object_id(&self, index: u32) -> String {
        format!("{:08x}-{index:04x}-4000-8000-000000000000", self.number)
    }

    fn uid(&self, index: u32, version: u32) -> String {
        format!("{}::{SYSTEM_ID}::{version}", self.object_id(index))
    }

    fn commit(&mut self, time: &str, committer: &str, versions: Vec<VersionData>) {
        let count = self.data.contributions.len() + 1;
        self.data.contributions.push(ContributionData {
            contribution_id: format!("c{:07}-{count:04x}-4000-8000-000000000000", self.number),
            time_committed: time.into(),
            committer: json!({ "_type": "PARTY_IDENTIFIED", "name": committer }),
            versions,
        });
    }
}

fn version(kind: ObjectKind, object_id: &str, number: u32, data: Value) -> VersionData {
    VersionData {
        kind,
        object_id: object_id.into(),
        version: number,
        change_type: if number == 1 {
            ChangeType::Creation
        } else {
            ChangeType::Modification
        },
        lifecycle_state: LifecycleState::Complete,
        data,
    }
}

fn deleted(object_id: &str, number: u32, data: Value) -> VersionData {
    VersionData {
        change_type: ChangeType::Deleted,
        lifecycle_state: LifecycleState::Deleted,
        ..version(ObjectKind::Composition, object_id, number, data)
    }
}

const VITALS: &str = "ehrn_vital_signs.v2";
const PROBLEMS: &str = "IDCR - Problem List.v1";
const REACTIONS: &str = "Adverse Reaction List.v1";
const RESPECT: &str = "ReSPECT-3.v0";

/// Six people on a ward: vital signs series, problem lists, adverse reactions, ReSPECT
/// plans, an updated and a deleted composition, a directory, an EHR without compositions
/// and one without a subject.
pub fn ward() -> CorpusDataset {
    let builder = Builder::new();
    let composition = |ehr: &Ehr, index: u32, number: u32, template_id: &str, document| {
        let data = builder.canonical(template_id, &document, &ehr.uid(index, number));
        version(ObjectKind::Composition, &ehr.object_id(index), number, data)
    };
    let mut ehrs = Vec::new();

    // 1: Alice, a series with a raised pressure (updated), asthma and hypertension,
    // two allergies and a "not for CPR" plan
    let mut alice = Ehr::new(1, "2023-12-01T08:00:00.000000+00:00", Some("9990000001"));
    let first = vital_signs(&Vitals {
        start: "2024-01-10T09:00:00Z",
        composer: "Nurse Jane Cole",
        pressures: &[(128.0, 82.0, "2024-01-10T09:05:00Z")],
        pulse: Some((72.0, "2024-01-10T09:06:00Z")),
        temperature: None,
    });
    let second = |systolic: f64| {
        vital_signs(&Vitals {
            start: "2024-03-15T10:30:00+01:00",
            composer: "Nurse Jane Cole",
            pressures: &[
                (systolic, 95.0, "2024-03-15T10:30:00+01:00"),
                (150.0, 97.0, "2024-03-15T10:45:00+01:00"),
            ],
            pulse: Some((80.0, "2024-03-15T10:31:00+01:00")),
            temperature: None,
        })
    };
    let third = vital_signs(&Vitals {
        start: "2024-06-01T14:00:00Z",
        composer: "Dr Omar Reid",
        pressures: &[(138.0, 88.0, "2024-06-01T14:02:00Z")],
        pulse: None,
        temperature: Some((37.2, "2024-06-01T14:03:00Z")),
    });
    let versions = vec![
        composition(&alice, 1, 1, VITALS, first),
        composition(&alice, 2, 1, VITALS, second(140.0)),
    ];
    alice.commit(
        "2024-03-15T09:40:00.000000+00:00",
        "Nurse Jane Cole",
        versions,
    );
    let versions = vec![composition(&alice, 2, 2, VITALS, second(145.0))];
    alice.commit("2024-03-16T08:00:00.000000+00:00", "Dr Omar Reid", versions);
    let versions = vec![
        composition(&alice, 3, 1, VITALS, third),
        composition(
            &alice,
            4,
            1,
            PROBLEMS,
            problem_list(
                "2024-06-01T14:10:00Z",
                &[
                    ("Hypertension", &[], Some("2023-05-01T08:00:00+01:00")),
                    ("Asthma", &["Lung"], Some("1990-06-15T00:00:00Z")),
                ],
            ),
        ),
        composition(
            &alice,
            5,
            1,
            REACTIONS,
            adverse_reactions(
                "2024-06-01T14:20:00Z",
                &[
                    ("Penicillin", "373270004", "at0122", "at0103", "Anaphylaxis"),
                    ("Peanuts", "762952008", "at0121", "at0102", "Hives"),
                ],
            ),
        ),
        composition(
            &alice,
            6,
            1,
            RESPECT,
            respect("at0005", "2024-02-01T11:00:00Z", "Dr Omar Reid"),
        ),
    ];
    alice.commit("2024-06-01T15:00:00.000000+00:00", "Dr Omar Reid", versions);
    ehrs.push(alice.data);

    // 2: Bob, high pressures, diabetes on both feet, CPR recommended, a directory
    let mut bob = Ehr::new(2, "2024-01-05T10:00:00.000000+00:00", Some("9990000002"));
    let versions = vec![
        composition(
            &bob,
            1,
            1,
            VITALS,
            vital_signs(&Vitals {
                start: "2024-02-01T08:15:00Z",
                composer: "Nurse Jane Cole",
                pressures: &[(152.0, 98.0, "2024-02-01T08:16:00Z")],
                pulse: Some((90.0, "2024-02-01T08:17:00Z")),
                temperature: None,
            }),
        ),
        composition(
            &bob,
            2,
            1,
            PROBLEMS,
            problem_list(
                "2024-02-01T08:30:00Z",
                &[(
                    "Type 2 diabetes mellitus",
                    &["Left foot", "Right foot"],
                    Some("2015-03-01T00:00:00Z"),
                )],
            ),
        ),
        composition(
            &bob,
            3,
            1,
            RESPECT,
            respect("at0004", "2024-02-02T09:00:00Z", "Dr Ann Hale"),
        ),
    ];
    bob.commit(
        "2024-02-02T10:00:00.000000+00:00",
        "Nurse Jane Cole",
        versions,
    );
    let versions = vec![composition(
        &bob,
        4,
        1,
        VITALS,
        vital_signs(&Vitals {
            start: "2024-05-20T16:45:00Z",
            composer: "Dr Ann Hale",
            pressures: &[(135.0, 85.0, "2024-05-20T16:46:00Z")],
            pulse: Some((76.0, "2024-05-20T16:47:00Z")),
            temperature: Some((36.8, "2024-05-20T16:48:00Z")),
        }),
    )];
    bob.commit("2024-05-20T17:00:00.000000+00:00", "Dr Ann Hale", versions);
    let directory_id = bob.object_id(5);
    let directory = folder(
        "root",
        "openEHR-EHR-FOLDER.generic.v1",
        &[],
        vec![
            folder(
                "Episodes",
                "openEHR-EHR-FOLDER.episode_of_care.v1",
                &[&bob.object_id(1), &bob.object_id(4)],
                Vec::new(),
            ),
            folder(
                "Care plans",
                "openEHR-EHR-FOLDER.generic.v1",
                &[&bob.uid(3, 1)],
                Vec::new(),
            ),
        ],
    );
    bob.commit(
        "2024-05-21T09:00:00.000000+00:00",
        "Dr Ann Hale",
        vec![version(ObjectKind::Folder, &directory_id, 1, directory)],
    );
    ehrs.push(bob.data);

    // 3: Carol, a west-of-UTC zone across midnight, a deleted composition, a latex allergy,
    // not for CPR
    let mut carol = Ehr::new(3, "2023-10-01T12:00:00.000000+00:00", Some("9990000003"));
    let mistaken = |ehr: &Ehr, number| {
        composition(
            ehr,
            2,
            number,
            VITALS,
            vital_signs(&Vitals {
                start: "2024-04-01T12:00:00Z",
                composer: "Nurse Jane Cole",
                pressures: &[(170.0, 110.0, "2024-04-01T12:01:00Z")],
                pulse: None,
                temperature: None,
            }),
        )
    };
    let versions = vec![
        composition(
            &carol,
            1,
            1,
            VITALS,
            vital_signs(&Vitals {
                start: "2023-12-31T23:30:00-02:00",
                composer: "Nurse Jane Cole",
                pressures: &[(118.0, 76.0, "2023-12-31T23:31:00-02:00")],
                pulse: Some((64.0, "2023-12-31T23:32:00-02:00")),
                temperature: None,
            }),
        ),
        composition(
            &carol,
            3,
            1,
            REACTIONS,
            adverse_reactions(
                "2024-01-01T02:00:00Z",
                &[("Latex", "111088007", "at0123", "at0102", "Rash")],
            ),
        ),
        composition(
            &carol,
            4,
            1,
            RESPECT,
            respect("at0005", "2023-11-01T10:00:00Z", "Dr Ann Hale"),
        ),
    ];
    carol.commit(
        "2024-01-01T03:00:00.000000+00:00",
        "Nurse Jane Cole",
        versions,
    );
    let versions = vec![mistaken(&carol, 1)];
    carol.commit(
        "2024-04-01T12:10:00.000000+00:00",
        "Nurse Jane Cole",
        versions,
    );
    let mut removal = mistaken(&carol, 2);
    removal = deleted(&removal.object_id.clone(), 2, removal.data);
    carol.commit(
        "2024-04-02T08:00:00.000000+00:00",
        "Dr Ann Hale",
        vec![removal],
    );
    ehrs.push(carol.data);

    // 4: Dan, no compositions; his EHR_STATUS was changed to not modifiable
    let mut dan = Ehr::new(4, "2024-02-10T09:00:00.000000+00:00", Some("9990000004"));
    let status_id = dan.object_id(0);
    dan.commit(
        "2024-02-11T09:00:00.000000+00:00",
        "Kith Admin",
        vec![version(
            ObjectKind::EhrStatus,
            &status_id,
            2,
            ehr_status(&status_id, 2, Some("9990000004"), false),
        )],
    );
    ehrs.push(dan.data);

    // 5: Eve, a pulse without a pressure, then a fever and a systolic of 141; asthma
    let mut eve = Ehr::new(5, "2024-03-01T09:00:00.000000+00:00", Some("9990000005"));
    let versions = vec![
        composition(
            &eve,
            1,
            1,
            VITALS,
            vital_signs(&Vitals {
                start: "2024-03-15T07:00:00Z",
                composer: "Nurse Jane Cole",
                pressures: &[],
                pulse: Some((58.0, "2024-03-15T07:01:00Z")),
                temperature: None,
            }),
        ),
        composition(
            &eve,
            2,
            1,
            VITALS,
            vital_signs(&Vitals {
                start: "2024-07-04T19:20:00+02:00",
                composer: "Dr Omar Reid",
                pressures: &[(141.0, 90.0, "2024-07-04T19:21:00+02:00")],
                pulse: Some((65.0, "2024-07-04T19:22:00+02:00")),
                temperature: Some((38.1, "2024-07-04T19:23:00+02:00")),
            }),
        ),
        composition(
            &eve,
            3,
            1,
            PROBLEMS,
            problem_list("2024-07-04T19:30:00+02:00", &[("Asthma", &[], None)]),
        ),
    ];
    eve.commit("2024-07-04T18:00:00.000000+00:00", "Dr Omar Reid", versions);
    ehrs.push(eve.data);

    // 6: Frank, no subject in his EHR_STATUS, one very high pressure
    let mut frank = Ehr::new(6, "2024-08-01T09:00:00.000000+00:00", None);
    let versions = vec![composition(
        &frank,
        1,
        1,
        VITALS,
        vital_signs(&Vitals {
            start: "2024-08-08T08:08:00Z",
            composer: "Nurse Jane Cole",
            pressures: &[(160.0, 100.0, "2024-08-08T08:09:00Z")],
            pulse: Some((101.0, "2024-08-08T08:10:00Z")),
            temperature: None,
        }),
    )];
    frank.commit(
        "2024-08-08T09:00:00.000000+00:00",
        "Nurse Jane Cole",
        versions,
    );
    ehrs.push(frank.data);

    CorpusDataset {
        templates: vec![
            "ehrn_vital_signs.v2.opt".into(),
            "IDCR - Problem List.v1.opt".into(),
            "IDCR - Adverse Reaction List.v1.opt".into(),
            "ReSPECT-3.v0.opt".into(),
        ],
        dataset: aql::eval::Dataset { ehrs },
    }
}

/// The shared minimal compositions (one of each entry class) in two EHRs.
pub fn minimal() -> CorpusDataset {
    let read = |name: &str| -> Value {
        let path = format!(
            "{}/../../testdata/compositions/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_slice(&std::fs::read(path).expect("example")).expect("json")
    };
    let mut ehrs = Vec::new();
    let files: [&[&str]; 2] = [
        &[
            "minimal_observation.canonical.json",
            "minimal_evaluation.canonical.json",
            "minimal_instruction.canonical.json",
        ],
        &[
            "minimal_action2_1.canonical.json",
            "minimal_evaluation.canonical.json",
        ],
    ];
    for (index, names) in files.iter().enumerate() {
        let number = 101 + u32::try_from(index).expect("small");
        let mut ehr = Ehr::new(number, "2024-01-01T00:00:00.000000+00:00", None);
        let versions = names
            .iter()
            .enumerate()
            .map(|(position, name)| {
                let object = u32::try_from(position).expect("small") + 1;
                let mut data = read(name);
                data["uid"] = json!({ "_type": "OBJECT_VERSION_ID", "value": ehr.uid(object, 1) });
                version(ObjectKind::Composition, &ehr.object_id(object), 1, data)
            })
            .collect();
        ehr.commit("2024-01-02T00:00:00.000000+00:00", "Kith Admin", versions);
        ehrs.push(ehr.data);
    }
    CorpusDataset {
        templates: vec![
            "minimal_observation.opt".into(),
            "minimal_evaluation.opt".into(),
            "minimal_instruction.opt".into(),
            "minimal_action2.opt".into(),
        ],
        dataset: aql::eval::Dataset { ehrs },
    }
}
