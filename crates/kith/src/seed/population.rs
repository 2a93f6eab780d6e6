//! The synthetic population: who the people are and what their records hold, as FLAT
//! documents, derived from the seed alone.
//!
//! Person `n` is generated from its own generator, seeded from the run's seed and `n`, so a
//! person does not depend on the order in which concurrent workers reach people, and the
//! first 30 people of a 2,000-people run are the 30 people of a 30-people run.
//!
//! The figures are rough English primary-care ones (age pyramid of the 2021 census, QOF-like
//! prevalences by age band, blood pressure rising with age and with hypertension); they aim
//! at data whose queries have plausible answers, not at epidemiology. The SNOMED CT codes are
//! the International Edition's concepts for these names; the data is synthetic and for
//! testing only.

use serde_json::{Map, Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time};
use uuid::Uuid;

pub const VITAL_SIGNS: &str = "ehrn_vital_signs.v2";
pub const PROBLEM_LIST: &str = "IDCR - Problem List.v1";
pub const ADVERSE_REACTIONS: &str = "Adverse Reaction List.v1";
pub const RESPECT: &str = "ReSPECT-3.v0";

/// The namespace of NHS numbers in an EHR_STATUS subject, as the API tests use it.
pub const NHS_NUMBER_NAMESPACE: &str = "uk.nhs.nhs_number";

/// "Now" for the generated records: fixed, so a run does not depend on the clock.
fn reference_time() -> OffsetDateTime {
    PrimitiveDateTime::new(
        Date::from_calendar_date(2025, Month::June, 30).expect("a valid date"),
        Time::from_hms(12, 0, 0).expect("a valid time"),
    )
    .assume_utc()
}

/// SplitMix64 (Steele, Lea and Flood 2014): reproducible and well spread, which is all test
/// data needs; the templates crate keeps its own copy private, and one struct is not worth
/// a dependency.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, probability: f64) -> bool {
        self.unit() < probability
    }

    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound.max(1)
    }

    pub fn uniform(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(f64::MIN_POSITIVE);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    pub fn gaussian(&mut self, mean: f64, sd: f64) -> f64 {
        mean + sd * self.normal()
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// A version 4 UUID made of the generator's bits, so ids follow from the seed too.
    pub fn uuid(&mut self) -> Uuid {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }
}

/// An NHS-number-like id: ten digits starting with 9 (a range never issued to patients)
/// whose tenth is the Modulus 11 check digit. The eight digits after the 9 are the
/// `position`; the ninth is the first that makes a valid check digit (for any eight digits,
/// at most one of the ten choices gives the invalid remainder 10).
pub fn nhs_number(position: u64) -> String {
    let mut digits: Vec<u32> = format!("9{:07}", position % 10_000_000)
        .chars()
        .map(|digit| digit.to_digit(10).unwrap_or(0))
        .collect();
    for ninth in 0..10 {
        digits.push(ninth);
        if let Some(check) = modulus_11_check_digit(&digits) {
            digits.push(check);
            return digits.iter().map(|digit| digit.to_string()).collect();
        }
        digits.pop();
    }
    unreachable!("one of ten ninth digits gives a valid check digit")
}

/// The NHS number check digit of the first nine digits, or None when the remainder makes
/// the number invalid.
pub fn modulus_11_check_digit(first_nine: &[u32]) -> Option<u32> {
    let sum: u32 = first_nine
        .iter()
        .zip((2..=10).rev())
        .map(|(digit, weight)| digit * weight)
        .sum();
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        check => Some(check),
    }
}

pub fn is_valid_nhs_number(number: &str) -> bool {
    let digits: Vec<u32> = number.chars().filter_map(|c| c.to_digit(10)).collect();
    digits.len() == 10
        && number.len() == 10
        && modulus_11_check_digit(&digits[..9]) == Some(digits[9])
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    Female,
    Male,
}

/// A condition on the problem list, with the SNOMED CT disorder it is coded as.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Condition {
    pub code: &'static str,
    pub name: &'static str,
    /// Prevalence by age band: under 18, 18-44, 45-64, 65-79, 80 and over.
    prevalence: [f64; 5],
    sex: Option<Sex>,
    /// Makes a care plan (ReSPECT) and more frequent observations likelier.
    serious: bool,
}

const HYPERTENSION: Condition = Condition {
    code: "59621000",
    name: "Essential hypertension",
    prevalence: [0.0; 5], // follows the person's blood pressure, see Person::generate
    sex: None,
    serious: false,
};
const COPD_CODE: &str = "13645005";
const ATRIAL_FIBRILLATION_CODE: &str = "49436004";

const fn condition(
    code: &'static str,
    name: &'static str,
    prevalence: [f64; 5],
    sex: Option<Sex>,
    serious: bool,
) -> Condition {
    Condition {
        code,
        name,
        prevalence,
        sex,
        serious,
    }
}

const CONDITIONS: &[Condition] = &[
    condition(
        "44054006",
        "Type 2 diabetes mellitus",
        [0.001, 0.025, 0.09, 0.17, 0.16],
        None,
        false,
    ),
    condition(
        "195967001",
        "Asthma",
        [0.09, 0.07, 0.06, 0.06, 0.05],
        None,
        false,
    ),
    condition(
        COPD_CODE,
        "Chronic obstructive lung disease",
        [0.0, 0.002, 0.02, 0.06, 0.08],
        None,
        true,
    ),
    condition(
        ATRIAL_FIBRILLATION_CODE,
        "Atrial fibrillation",
        [0.0, 0.001, 0.015, 0.07, 0.14],
        None,
        false,
    ),
    condition(
        "414545008",
        "Ischemic heart disease",
        [0.0, 0.003, 0.03, 0.11, 0.17],
        None,
        false,
    ),
    condition(
        "84114007",
        "Heart failure",
        [0.0, 0.001, 0.006, 0.03, 0.08],
        None,
        true,
    ),
    condition(
        "433144002",
        "Chronic kidney disease stage 3",
        [0.0, 0.002, 0.02, 0.11, 0.25],
        None,
        true,
    ),
    condition(
        "230690007",
        "Cerebrovascular accident",
        [0.0, 0.002, 0.012, 0.05, 0.09],
        None,
        true,
    ),
    condition(
        "52448006",
        "Dementia",
        [0.0, 0.0, 0.002, 0.03, 0.16],
        None,
        true,
    ),
    condition(
        "35489007",
        "Depressive disorder",
        [0.02, 0.13, 0.13, 0.10, 0.09],
        None,
        false,
    ),
    condition(
        "197480006",
        "Anxiety disorder",
        [0.03, 0.08, 0.06, 0.04, 0.03],
        None,
        false,
    ),
    condition(
        "40930008",
        "Hypothyroidism",
        [0.001, 0.015, 0.04, 0.07, 0.08],
        None,
        false,
    ),
    condition(
        "396275006",
        "Osteoarthritis",
        [0.0, 0.01, 0.09, 0.22, 0.30],
        None,
        false,
    ),
    condition(
        "64859006",
        "Osteoporosis",
        [0.0, 0.002, 0.02, 0.08, 0.15],
        None,
        false,
    ),
    condition(
        "13644009",
        "Hypercholesterolemia",
        [0.001, 0.03, 0.12, 0.20, 0.15],
        None,
        false,
    ),
    condition(
        "235595009",
        "Gastroesophageal reflux disease",
        [0.005, 0.04, 0.07, 0.08, 0.07],
        None,
        false,
    ),
    condition(
        "37796009",
        "Migraine",
        [0.03, 0.08, 0.05, 0.02, 0.01],
        None,
        false,
    ),
    condition(
        "84757009",
        "Epilepsy",
        [0.005, 0.008, 0.008, 0.009, 0.009],
        None,
        false,
    ),
    condition(
        "69896004",
        "Rheumatoid arthritis",
        [0.0, 0.004, 0.01, 0.015, 0.015],
        None,
        false,
    ),
    condition(
        "254837009",
        "Malignant neoplasm of breast",
        [0.0, 0.004, 0.02, 0.04, 0.05],
        Some(Sex::Female),
        true,
    ),
    condition(
        "399068003",
        "Malignant tumor of prostate",
        [0.0, 0.0, 0.008, 0.04, 0.07],
        Some(Sex::Male),
        true,
    ),
];

/// A substance someone reacts to: SNOMED CT substance, category code of the template, its
/// share of the population, and the reactions it typically causes.
struct Allergen {
    code: &'static str,
    name: &'static str,
    /// at0121 food, at0122 medication, at0123 other.
    category: &'static str,
    prevalence: f64,
}

const ALLERGENS: &[Allergen] = &[
    Allergen {
        code: "764146007",
        name: "Penicillin",
        category: "at0122",
        prevalence: 0.08,
    },
    Allergen {
        code: "372687004",
        name: "Amoxicillin",
        category: "at0122",
        prevalence: 0.015,
    },
    Allergen {
        code: "387207008",
        name: "Ibuprofen",
        category: "at0122",
        prevalence: 0.02,
    },
    Allergen {
        code: "387458008",
        name: "Aspirin",
        category: "at0122",
        prevalence: 0.01,
    },
    Allergen {
        code: "387494007",
        name: "Codeine",
        category: "at0122",
        prevalence: 0.015,
    },
    Allergen {
        code: "387170002",
        name: "Trimethoprim",
        category: "at0122",
        prevalence: 0.01,
    },
    Allergen {
        code: "372694001",
        name: "Erythromycin",
        category: "at0122",
        prevalence: 0.005,
    },
    Allergen {
        code: "373529000",
        name: "Morphine",
        category: "at0122",
        prevalence: 0.005,
    },
    Allergen {
        code: "386873009",
        name: "Lisinopril",
        category: "at0122",
        prevalence: 0.004,
    },
    Allergen {
        code: "762952008",
        name: "Peanut",
        category: "at0121",
        prevalence: 0.015,
    },
    Allergen {
        code: "102263004",
        name: "Eggs",
        category: "at0121",
        prevalence: 0.005,
    },
    Allergen {
        code: "3718001",
        name: "Cow's milk",
        category: "at0121",
        prevalence: 0.004,
    },
    Allergen {
        code: "111088007",
        name: "Latex",
        category: "at0123",
        prevalence: 0.005,
    },
    Allergen {
        code: "288328004",
        name: "Bee venom",
        category: "at0123",
        prevalence: 0.004,
    },
    Allergen {
        code: "256277009",
        name: "Grass pollen",
        category: "at0123",
        prevalence: 0.02,
    },
];

/// SNOMED CT findings for reaction manifestations, commonest first.
const MANIFESTATIONS: &[(&str, &str)] = &[
    ("271807003", "Eruption of skin"),
    ("126485001", "Urticaria"),
    ("422587007", "Nausea"),
    ("62315008", "Diarrhea"),
    ("56018004", "Wheezing"),
    ("41291007", "Angioedema"),
    ("39579001", "Anaphylaxis"),
];

const CLINICIANS: &[&str] = &[
    "Dr Amara Okafor",
    "Dr James Whitfield",
    "Dr Priya Raman",
    "Dr Tomasz Nowak",
    "Dr Helen McAllister",
    "Dr Samuel Osei",
    "Dr Fiona Campbell",
    "Dr Ahmed Hassan",
    "Nurse Grace Bennett",
    "Nurse Daniel Price",
    "Nurse Aisha Begum",
    "Nurse Rhys Evans",
];

const PRACTICES: &[(&str, &str)] = &[
    ("Riverside Medical Centre", "Y01234"),
    ("Abbey Road Surgery", "Y02345"),
    ("Castle Hill Health Centre", "Y03456"),
    ("Meadowbank Practice", "Y04567"),
    ("Northgate Family Doctors", "Y05678"),
    ("St Luke's Surgery", "Y06789"),
    ("Harbour View Medical Practice", "Y07890"),
    ("Oakwood Health Partnership", "Y08901"),
];

/// The share of the English population in each five-year age band (2021 census), the last
/// band being 90 and over.
const AGE_BANDS: [f64; 19] = [
    5.4, 5.9, 5.9, 5.6, 6.0, 6.6, 6.9, 6.6, 6.2, 6.3, 6.9, 6.8, 5.9, 5.0, 5.0, 3.6, 2.5, 1.5, 0.9,
];

fn age_band(age: u32) -> usize {
    match age {
        0..18 => 0,
        18..45 => 1,
        45..65 => 2,
        65..80 => 3,
        _ => 4,
    }
}

/// One generated composition: its template, its object id and its FLAT document.
#[derive(Debug, Clone)]
pub struct PlannedComposition {
    pub template_id: &'static str,
    pub object_id: Uuid,
    /// The time the FLAT document is about (ISO 8601), also what fills its other times.
    pub time: String,
    pub flat: Map<String, Value>,
}

/// One synthetic person and everything their record gets.
#[derive(Debug, Clone)]
pub struct Person {
    pub index: u64,
    pub ehr_id: Uuid,
    pub nhs_number: String,
    pub sex: Sex,
    pub age: u32,
    pub date_of_birth: Date,
    pub conditions: Vec<Condition>,
    pub hypertensive: bool,
    /// The EHR_STATUS `other_details`: date of birth and sex, as many CDRs keep them.
    pub status_details: Value,
    pub compositions: Vec<PlannedComposition>,
}

/// The parameters of a population, fixed by the seed and the mean number of compositions.
#[derive(Debug, Clone)]
pub struct Population {
    seed: u64,
    /// Multiplies each person's expected number of vital signs compositions so that the
    /// population's mean number of compositions comes out at the requested mean.
    vital_signs_scale: f64,
    /// Where the NHS numbers of this seed start, so that different seeds rarely collide.
    number_offset: u64,
}

/// The spread of the number of vital signs encounters: log-normal, so most people have a
/// few and some have many (a long tail; the top percent has about ten times the mean).
const ENCOUNTER_SIGMA: f64 = 1.1;

/// A frail person is seen more often.
fn encounter_weight(age: u32, conditions: &[Condition]) -> f64 {
    let serious = conditions.iter().filter(|c| c.serious).count() as f64;
    (0.4 + f64::from(age) / 60.0) * (1.0 + 0.25 * conditions.len() as f64 + 0.5 * serious)
}

impl Population {
    /// `mean_compositions`: the mean number of compositions per person, care plans and lists
    /// included.
    pub fn new(seed: u64, mean_compositions: f64) -> Population {
        let mut population = Population {
            seed,
            vital_signs_scale: 1.0,
            number_offset: Rng::new(seed ^ 0x4E48_5320_4E55_4D42).below(10_000_000),
        };
        // Calibrate on a fixed sample of people rather than the run's, so that the scale,
        // and with it every person, is the same whatever the run's size.
        let sample = 2_000;
        let (mut weights, mut lists) = (0.0, 0.0);
        for index in 0..sample {
            let profile = population.profile(index);
            weights += encounter_weight(profile.age, &profile.conditions);
            lists += profile.list_count() as f64;
        }
        let (mean_weight, mean_lists) = (weights / sample as f64, lists / sample as f64);
        population.vital_signs_scale = ((mean_compositions - mean_lists) / mean_weight).max(0.0);
        population
    }

    fn rng(&self, index: u64, stream: u64) -> Rng {
        let mut mixer = Rng::new(self.seed ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03));
        Rng::new(mixer.next_u64() ^ stream)
    }

    fn profile(&self, index: u64) -> Profile {
        Profile::generate(&mut self.rng(index, 0))
    }

    /// Person `index` (0-based) of this population, with all their compositions.
    pub fn person(&self, index: u64) -> Person {
        let profile = self.profile(index);
        // Ids and details from a stream of their own: the profile stays what calibration saw.
        let mut rng = self.rng(index, 1);
        let ehr_id = rng.uuid();
        let now = reference_time();
        let date_of_birth =
            now.date() - Duration::days(i64::from(profile.age) * 365 + rng.below(365) as i64);
        let nhs_number = nhs_number(self.number_offset + index);
        let (sex_code, sex_name) = match profile.sex {
            Sex::Female => ("248152002", "Female"),
            Sex::Male => ("248153007", "Male"),
        };
        let status_details = json!({
            "_type": "ITEM_TREE",
            "archetype_node_id": "at0001",
            "name": { "_type": "DV_TEXT", "value": "Demographics" },
            "items": [
                {
                    "_type": "ELEMENT",
                    "archetype_node_id": "at0002",
                    "name": { "_type": "DV_TEXT", "value": "Date of birth" },
                    "value": { "_type": "DV_DATE", "value": date_of_birth.to_string() }
                },
                {
                    "_type": "ELEMENT",
                    "archetype_node_id": "at0003",
                    "name": { "_type": "DV_TEXT", "value": "Sex" },
                    "value": {
                        "_type": "DV_CODED_TEXT",
                        "value": sex_name,
                        "defining_code": {
                            "_type": "CODE_PHRASE",
                            "terminology_id": { "_type": "TERMINOLOGY_ID", "value": "SNOMED-CT" },
                            "code_string": sex_code
                        }
                    }
                }
            ]
        });
        let mut writer = Writer {
            rng,
            practice: *self.rng(index, 2).pick(PRACTICES),
            now,
            compositions: Vec::new(),
        };
        if !profile.conditions.is_empty() {
            writer.problem_list(&profile);
        }
        if profile.has_reaction_list {
            writer.adverse_reactions(&profile);
        }
        if profile.has_care_plan {
            writer.respect(&profile);
        }
        let expected = self.vital_signs_scale
            * encounter_weight(profile.age, &profile.conditions)
            * (ENCOUNTER_SIGMA * writer.rng.normal() - ENCOUNTER_SIGMA * ENCOUNTER_SIGMA / 2.0)
                .exp();
        let encounters = (expected.round() as usize).clamp(1, 5_000);
        writer.vital_signs_series(&profile, encounters);
        Person {
            index,
            ehr_id,
            nhs_number,
            sex: profile.sex,
            age: profile.age,
            date_of_birth,
            conditions: profile.conditions.clone(),
            hypertensive: profile.hypertensive,
            status_details,
            compositions: writer.compositions,
        }
    }
}

/// What a person is like, before any record is written; cheap, for calibration.
struct Profile {
    age: u32,
    sex: Sex,
    hypertensive: bool,
    conditions: Vec<Condition>,
    allergens: Vec<&'static Allergen>,
    has_reaction_list: bool,
    has_care_plan: bool,
    not_for_cpr: bool,
    /// The person's usual blood pressure and pulse, around which readings vary.
    systolic: f64,
    diastolic: f64,
    pulse: f64,
}

impl Profile {
    fn generate(rng: &mut Rng) -> Profile {
        let total: f64 = AGE_BANDS.iter().sum();
        let mut draw = rng.unit() * total;
        let mut band = 0;
        while band < AGE_BANDS.len() - 1 && draw >= AGE_BANDS[band] {
            draw -= AGE_BANDS[band];
            band += 1;
        }
        let span = if band == AGE_BANDS.len() - 1 { 12 } else { 5 };
        let age = band as u32 * 5 + rng.below(span) as u32;
        // Women live longer: their share grows with age.
        let female_share = match age {
            0..60 => 0.49,
            60..80 => 0.52,
            _ => 0.60,
        };
        let sex = if rng.chance(female_share) {
            Sex::Female
        } else {
            Sex::Male
        };
        let band = age_band(age);
        let mut conditions: Vec<Condition> = CONDITIONS
            .iter()
            .filter(|condition| condition.sex.is_none_or(|only| only == sex))
            .filter(|condition| rng.chance(condition.prevalence[band]))
            .copied()
            .collect();
        let diabetic = conditions.iter().any(|c| c.code == "44054006");
        let hypertension_risk =
            [0.0, 0.06, 0.28, 0.55, 0.65][band] + if diabetic { 0.2 } else { 0.0 };
        let hypertensive = rng.chance(hypertension_risk);
        // About a quarter of hypertension is undiagnosed: high readings, no problem entry.
        if hypertensive && rng.chance(0.75) {
            conditions.insert(0, HYPERTENSION);
        }
        let years = f64::from(age);
        let male = sex == Sex::Male;
        let (mut systolic, mut diastolic, pulse) = if age < 18 {
            (
                rng.gaussian(95.0 + 1.2 * years, 7.0),
                rng.gaussian(55.0 + 0.7 * years, 5.0),
                rng.gaussian((125.0 - 3.0 * years).max(70.0), 8.0),
            )
        } else {
            let adult_years = years - 18.0;
            (
                rng.gaussian(
                    110.0 + 0.45 * adult_years + if male { 4.0 } else { 0.0 },
                    9.0,
                ),
                rng.gaussian(
                    70.0 + 0.25 * adult_years - 0.45 * (years - 55.0).max(0.0)
                        + if male { 3.0 } else { 0.0 },
                    6.0,
                ),
                rng.gaussian(72.0, 8.0),
            )
        };
        if hypertensive {
            systolic += rng.gaussian(24.0, 8.0);
            diastolic += rng.gaussian(10.0, 4.0);
        }
        let allergens: Vec<&'static Allergen> = ALLERGENS
            .iter()
            .filter(|allergen| rng.chance(allergen.prevalence))
            .collect();
        // Most records have the list, often saying "no known allergies".
        let has_reaction_list = !allergens.is_empty() || rng.chance(0.8);
        let serious = conditions.iter().filter(|c| c.serious).count() as f64;
        let care_plan_chance = [0.0, 0.002, 0.01, 0.08, 0.30][band] * (1.0 + 0.8 * serious);
        let care_plan_chance = if age >= 85 {
            care_plan_chance * 1.5
        } else {
            care_plan_chance
        };
        let has_care_plan = age >= 18 && rng.chance(care_plan_chance.min(0.9));
        let not_for_cpr_chance = match age {
            0..65 => 0.3,
            65..75 => 0.5,
            75..85 => 0.7,
            _ => 0.85,
        };
        let not_for_cpr = has_care_plan && rng.chance(not_for_cpr_chance);
        Profile {
            age,
            sex,
            hypertensive,
            conditions,
            allergens,
            has_reaction_list,
            has_care_plan,
            not_for_cpr,
            systolic,
            diastolic,
            pulse,
        }
    }

    /// The lists and plans this person's record holds besides vital signs.
    fn list_count(&self) -> usize {
        usize::from(!self.conditions.is_empty())
            + usize::from(self.has_reaction_list)
            + usize::from(self.has_care_plan)
    }

    fn has(&self, code: &str) -> bool {
        self.conditions.iter().any(|c| c.code == code)
    }
}

fn format_time(time: OffsetDateTime) -> String {
    time.format(&Rfc3339).unwrap_or_default()
}

/// A composition being written.
struct Draft(PlannedComposition);

impl Draft {
    fn put(&mut self, key: String, value: Value) {
        self.0.flat.insert(key, value);
    }
}

/// Writes a person's compositions as FLAT documents.
struct Writer {
    rng: Rng,
    practice: (&'static str, &'static str),
    now: OffsetDateTime,
    compositions: Vec<PlannedComposition>,
}

impl Writer {
    /// A time within the last `days`, in surgery hours, to the minute.
    fn time_within(&mut self, days: u64) -> OffsetDateTime {
        let day = self.now.date() - Duration::days(self.rng.below(days.max(1)) as i64);
        let minutes = 8 * 60 + self.rng.below(10 * 60);
        PrimitiveDateTime::new(day, Time::MIDNIGHT)
            .assume_utc()
            .saturating_add(Duration::minutes(minutes as i64))
    }

    /// A new composition's FLAT document with its id and context; `finish` files it.
    fn start(&mut self, template_id: &'static str, root: &str, time: OffsetDateTime) -> Draft {
        let object_id = self.rng.uuid();
        let composer = *self.rng.pick(CLINICIANS);
        let time = format_time(time);
        let mut flat = Map::new();
        let mut put = |key: &str, value: Value| {
            flat.insert(key.to_owned(), value);
        };
        put(
            &format!("{root}/_uid"),
            json!(format!("{object_id}::kith.local::1")),
        );
        put("ctx/language", json!("en"));
        put("ctx/territory", json!("GB"));
        put("ctx/composer_name", json!(composer));
        put("ctx/time", json!(time));
        put("ctx/health_care_facility|name", json!(self.practice.0));
        put("ctx/health_care_facility|id", json!(self.practice.1));
        put("ctx/id_namespace", json!("ODS"));
        put("ctx/id_scheme", json!("ODS"));
        Draft(PlannedComposition {
            template_id,
            object_id,
            time,
            flat,
        })
    }

    fn finish(&mut self, draft: Draft) {
        self.compositions.push(draft.0);
    }

    fn problem_list(&mut self, profile: &Profile) {
        let time = self.time_within(365);
        let mut flat = self.start(PROBLEM_LIST, "problem_list", time);
        let onset_days = (u64::from(profile.age) * 365).clamp(1, 20 * 365);
        for (n, condition) in profile.conditions.iter().enumerate() {
            let prefix = format!("problem_list/problems_and_issues:0/problem_diagnosis:{n}");
            flat.put(
                format!("{prefix}/problem_diagnosis_name|code"),
                json!(condition.code),
            );
            flat.put(
                format!("{prefix}/problem_diagnosis_name|value"),
                json!(condition.name),
            );
            flat.put(
                format!("{prefix}/problem_diagnosis_name|terminology"),
                json!("SNOMED-CT"),
            );
            let onset = self.time_within(onset_days).min(time);
            flat.put(
                format!("{prefix}/date_time_of_onset"),
                json!(format_time(onset)),
            );
            flat.put(format!("{prefix}/last_updated"), json!(format_time(time)));
        }
        self.finish(flat);
    }

    fn adverse_reactions(&mut self, profile: &Profile) {
        let time = self.time_within(2 * 365);
        let mut flat = self.start(ADVERSE_REACTIONS, "adverse_reaction_list", time);
        let section = "adverse_reaction_list/allergies_and_adverse_reactions";
        if profile.allergens.is_empty() {
            let prefix = format!("{section}/empty_list_info/exclusion_-_global");
            flat.put(
                format!("{prefix}/global_exclusion_of_adverse_reactions|code"),
                json!("716186003"),
            );
            flat.put(
                format!("{prefix}/global_exclusion_of_adverse_reactions|value"),
                json!("No known allergy"),
            );
            flat.put(
                format!("{prefix}/global_exclusion_of_adverse_reactions|terminology"),
                json!("SNOMED-CT"),
            );
        }
        for (n, allergen) in profile.allergens.iter().enumerate() {
            let prefix = format!("{section}/adverse_reaction_risk:{n}");
            let mut put = |key: &str, value: Value| {
                flat.put(format!("{prefix}/{key}"), value);
            };
            put("causative_agent|code", json!(allergen.code));
            put("causative_agent|value", json!(allergen.name));
            put("causative_agent|terminology", json!("SNOMED-CT"));
            let confirmed = self.rng.chance(0.6);
            put(
                "status|code",
                json!(if confirmed { "at0065" } else { "at0127" }),
            );
            put("category|code", json!(allergen.category));
            let severe = self.rng.chance(0.08);
            let (manifestation, severity, criticality) = if severe {
                (MANIFESTATIONS[6], "at0090", "at0103")
            } else {
                let mild = *self.rng.pick(&MANIFESTATIONS[..6]);
                let moderate = self.rng.chance(0.35);
                (mild, if moderate { "at0092" } else { "at0093" }, "at0102")
            };
            put("criticality|code", json!(criticality));
            put(
                "reaction_event:0/manifestation:0|code",
                json!(manifestation.0),
            );
            put(
                "reaction_event:0/manifestation:0|value",
                json!(manifestation.1),
            );
            put(
                "reaction_event:0/manifestation:0|terminology",
                json!("SNOMED-CT"),
            );
            put("reaction_event:0/severity|code", json!(severity));
            let onset_days = (u64::from(profile.age) * 365).clamp(1, 30 * 365);
            let onset = self.time_within(onset_days).min(time);
            put(
                "reaction_event:0/onset_of_reaction",
                json!(format_time(onset)),
            );
            put("last_updated", json!(format_time(time)));
        }
        self.finish(flat);
    }

    fn respect(&mut self, profile: &Profile) {
        let time = self.time_within(3 * 365);
        let mut flat = self.start(RESPECT, "respect-3", time);
        let headings = "respect-3/respect_headings";
        let mut put = |key: &str, value: Value| {
            flat.put(format!("{headings}/{key}"), value);
        };
        let serious: Vec<&str> = profile
            .conditions
            .iter()
            .filter(|c| c.serious)
            .map(|c| c.name)
            .collect();
        let summary = if serious.is_empty() {
            format!(
                "{}-year-old, increasingly frail, living at home",
                profile.age
            )
        } else {
            format!(
                "{}-year-old with {}",
                profile.age,
                serious.join(", ").to_lowercase()
            )
        };
        put(
            "a2._shared_understanding/respect_summary/narrative_summary",
            json!(summary),
        );
        put(
            "a3._what_matters_to_me/what_matters_to_me/what_i_most_value",
            json!(*self.rng.pick(&[
                "Being at home with my family",
                "Staying independent as long as possible",
                "Seeing my grandchildren",
                "Being comfortable and free of pain",
            ])),
        );
        put(
            "a3._what_matters_to_me/what_matters_to_me/what_i_most_fear_wish_to_avoid",
            json!(*self.rng.pick(&[
                "Going into hospital",
                "Being kept alive on machines",
                "Being a burden",
                "Dying in pain",
            ])),
        );
        let focus = if profile.not_for_cpr {
            if self.rng.chance(0.6) {
                "Prioritise comfort"
            } else {
                "Balance extending life with comfort and valued outcomes"
            }
        } else if self.rng.chance(0.5) {
            "Prioritise extending life"
        } else {
            "Balance extending life with comfort and valued outcomes"
        };
        put(
            "a4._clinical_recommendations/recommendation/clinical_focus",
            json!(focus),
        );
        put(
            "a4._clinical_recommendations/recommendation/clinical_guidance_on_interventions",
            json!(if profile.not_for_cpr {
                "Treat reversible causes at home where possible; no ventilation"
            } else {
                "Full active treatment including hospital admission"
            }),
        );
        put(
            "a4._clinical_recommendations/cpr_decision/cpr_decision|code",
            json!(if profile.not_for_cpr {
                "at0005"
            } else {
                "at0004"
            }),
        );
        put(
            "a4._clinical_recommendations/cpr_decision/date_of_cpr_decision",
            json!(format_time(time)),
        );
        let lacks_capacity = profile.has("52448006") && self.rng.chance(0.7);
        put(
            "a5._capacity_for_involvement/mental_capacity/does_the_person_have_capacity_to_participate_in_making_recommendations_on_this_plan|code",
            json!(if lacks_capacity { "at0004" } else { "at0003" }),
        );
        put(
            "a6._involvement_in_making_plan/respect_involvement/involvement_in_recommendations/involvement:0|code",
            json!(if lacks_capacity { "at0004" } else { "at0003" }),
        );
        flat.put(
            "respect-3/context/status".into(),
            json!("Complete and signed"),
        );
        self.finish(flat);
    }

    /// `count` encounters over the last five years (fewer for a young child), each with a
    /// blood pressure and most with the other vital signs.
    fn vital_signs_series(&mut self, profile: &Profile, count: usize) {
        let days = (u64::from(profile.age) * 365 + 30).min(5 * 365);
        let mut times: Vec<OffsetDateTime> = (0..count).map(|_| self.time_within(days)).collect();
        times.sort();
        let copd = profile.has(COPD_CODE);
        let atrial_fibrillation = profile.has(ATRIAL_FIBRILLATION_CODE);
        let child = profile.age < 18;
        for time in times {
            let root = VITAL_SIGNS;
            let mut flat = self.start(VITAL_SIGNS, root, time);
            let time_text = format_time(time);
            let section = format!("{root}/vital_signs:0");
            let rng = &mut self.rng;
            let mut put = |key: &str, value: Value| {
                flat.put(format!("{section}/{key}"), value);
            };
            let systolic = rng
                .gaussian(profile.systolic, 8.0)
                .clamp(70.0, 240.0)
                .round();
            let diastolic = rng
                .gaussian(profile.diastolic, 5.0)
                .clamp(35.0, 140.0)
                .min(systolic - 15.0)
                .round();
            put("blood_pressure:0/any_event:0/time", json!(time_text));
            put(
                "blood_pressure:0/any_event:0/systolic|magnitude",
                json!(systolic),
            );
            put(
                "blood_pressure:0/any_event:0/systolic|unit",
                json!("mm[Hg]"),
            );
            put(
                "blood_pressure:0/any_event:0/diastolic|magnitude",
                json!(diastolic),
            );
            put(
                "blood_pressure:0/any_event:0/diastolic|unit",
                json!("mm[Hg]"),
            );
            if rng.chance(0.9) {
                let spread = if atrial_fibrillation { 14.0 } else { 6.0 };
                let shift = if atrial_fibrillation { 8.0 } else { 0.0 };
                let pulse = rng
                    .gaussian(profile.pulse + shift, spread)
                    .clamp(35.0, 190.0)
                    .round();
                put("pulse_heart_beat:0/any_event:0/time", json!(time_text));
                put(
                    "pulse_heart_beat:0/any_event:0/pulse_rate|magnitude",
                    json!(pulse),
                );
                put(
                    "pulse_heart_beat:0/any_event:0/pulse_rate|unit",
                    json!("/min"),
                );
            }
            if rng.chance(0.6) {
                let fever = if rng.chance(0.04) {
                    rng.gaussian(1.6, 0.5).max(0.5)
                } else {
                    0.0
                };
                let temperature = (rng.gaussian(36.8, 0.3) + fever).clamp(34.5, 41.5);
                let temperature = (temperature * 10.0).round() / 10.0;
                put("body_temperature:0/any_event:0/time", json!(time_text));
                put(
                    "body_temperature:0/any_event:0/temperature|magnitude",
                    json!(temperature),
                );
                put(
                    "body_temperature:0/any_event:0/temperature|unit",
                    json!("Cel"),
                );
            }
            if rng.chance(0.6) {
                let usual = if child {
                    (30.0 - f64::from(profile.age)).max(16.0)
                } else if copd {
                    20.0
                } else {
                    16.0
                };
                let rate = rng.gaussian(usual, 2.0).clamp(8.0, 60.0).round();
                put("respirations:0/any_event:0/time", json!(time_text));
                put("respirations:0/any_event:0/rate|magnitude", json!(rate));
                put("respirations:0/any_event:0/rate|unit", json!("/min"));
            }
            if rng.chance(0.7) {
                let usual = if copd {
                    93.0
                } else {
                    97.5 - (f64::from(profile.age) - 60.0).max(0.0) * 0.05
                };
                let saturation = rng.gaussian(usual, 1.2).clamp(80.0, 100.0).round();
                put("pulse_oximetry:0/any_event:0/time", json!(time_text));
                put(
                    "pulse_oximetry:0/any_event:0/spo|numerator",
                    json!(saturation),
                );
                put("pulse_oximetry:0/any_event:0/spo|denominator", json!(100.0));
                put("pulse_oximetry:0/any_event:0/spo|type", json!(2));
            }
            self.finish(flat);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nhs_numbers_have_valid_check_digits() {
        // Published example numbers.
        assert!(is_valid_nhs_number("9434765919"));
        assert!(!is_valid_nhs_number("9434765918"));
        for position in [0, 1, 2, 9_999_999, 1_234_567] {
            let number = nhs_number(position);
            assert!(is_valid_nhs_number(&number), "{number}");
            assert!(number.starts_with('9'));
        }
    }

    #[test]
    fn people_follow_from_the_seed_alone() {
        let one = Population::new(7, 10.0);
        let two = Population::new(7, 10.0);
        let (a, b) = (one.person(12), two.person(12));
        assert_eq!(a.ehr_id, b.ehr_id);
        assert_eq!(a.compositions.len(), b.compositions.len());
        assert_eq!(
            a.compositions.last().map(|c| &c.flat),
            b.compositions.last().map(|c| &c.flat)
        );
        assert_ne!(Population::new(8, 10.0).person(12).ehr_id, a.ehr_id);
    }

    #[test]
    fn the_mean_number_of_compositions_is_close_to_the_one_asked_for() {
        let population = Population::new(1, 10.0);
        let people = 3_000;
        let total: usize = (0..people)
            .map(|index| population.person(index).compositions.len())
            .sum();
        let mean = total as f64 / people as f64;
        assert!((8.5..11.5).contains(&mean), "mean {mean}");
    }

    #[test]
    fn the_population_looks_like_a_population() {
        let population = Population::new(3, 10.0);
        let people: Vec<Person> = (0..4_000).map(|index| population.person(index)).collect();
        let share = |count: usize| count as f64 / people.len() as f64;
        let flat_values = |person: &Person, template: &str, suffix: &str| -> Vec<f64> {
            person
                .compositions
                .iter()
                .filter(|c| c.template_id == template)
                .flat_map(|c| c.flat.iter())
                .filter(|(key, _)| key.ends_with(suffix))
                .filter_map(|(_, value)| value.as_f64())
                .collect()
        };
        let mean = |values: &[f64]| values.iter().sum::<f64>() / values.len().max(1) as f64;

        let older: Vec<&Person> = people.iter().filter(|p| p.age >= 65).collect();
        assert!((0.12..0.26).contains(&share(older.len())), "share 65+");
        let women = people.iter().filter(|p| p.sex == Sex::Female).count();
        assert!((0.46..0.56).contains(&share(women)), "share of women");

        // Blood pressure rises with age and with hypertension.
        let systolic = |group: &[&Person]| {
            let values: Vec<f64> = group
                .iter()
                .flat_map(|p| flat_values(p, VITAL_SIGNS, "systolic|magnitude"))
                .collect();
            mean(&values)
        };
        let young: Vec<&Person> = people
            .iter()
            .filter(|p| (18..40).contains(&p.age))
            .collect();
        let hypertensive: Vec<&Person> = people.iter().filter(|p| p.hypertensive).collect();
        assert!(systolic(&older) > systolic(&young) + 10.0);
        assert!(
            systolic(&hypertensive) > 140.0,
            "{}",
            systolic(&hypertensive)
        );
        assert!((0.15..0.35).contains(&share(hypertensive.len())));

        // A ReSPECT plan for a share of older people, some not for CPR.
        let with_plan = |group: &[&Person]| {
            group
                .iter()
                .filter(|p| p.compositions.iter().any(|c| c.template_id == RESPECT))
                .count() as f64
                / group.len() as f64
        };
        let very_old: Vec<&Person> = people.iter().filter(|p| p.age >= 80).collect();
        assert!(with_plan(&very_old) > 0.25, "{}", with_plan(&very_old));
        assert!(with_plan(&young) < 0.02);
        let decisions: Vec<&Value> = people
            .iter()
            .flat_map(|p| p.compositions.iter())
            .filter_map(|c| {
                c.flat.get(
                    "respect-3/respect_headings/a4._clinical_recommendations/cpr_decision/cpr_decision|code",
                )
            })
            .collect();
        let not_for_cpr = decisions.iter().filter(|code| **code == "at0005").count();
        assert!(not_for_cpr > 0 && not_for_cpr < decisions.len());

        // Skewed: most people have a few compositions, a few have many.
        let mut counts: Vec<usize> = people.iter().map(|p| p.compositions.len()).collect();
        counts.sort_unstable();
        let median = counts[counts.len() / 2];
        let top = counts[counts.len() * 99 / 100];
        assert!(
            median < 10 && top > 40,
            "median {median}, 99th percentile {top}"
        );

        // Every subject id is distinct and valid.
        let numbers: std::collections::HashSet<&str> =
            people.iter().map(|p| p.nhs_number.as_str()).collect();
        assert_eq!(numbers.len(), people.len());
    }
}
