//! The Archetype Query Language (AQL 1.1): a hand-written lexer and recursive-descent parser
//! producing a typed tree ([`ast`]) with source spans, a canonical printer (`Display`) and a
//! debug dump ([`debug_tree`]); and the query rows the store derives from every committed
//! object ([`index`]), whose path keys the compiler targets. No IO.
//!
//! The grammar, after the specification's `AqlParser.g4` (openEHR specifications-QUERY,
//! docs/AQL/grammar). Keywords are case-insensitive; `--` starts a comment to the end of the
//! line; `[x]` is optional, `{x}` repeats, `|` separates alternatives.
//!
//! ```text
//! query        = SELECT [DISTINCT] [TOP int [FORWARD|BACKWARD]] column {',' column}
//!                FROM contains [WHERE condition]
//!                [ORDER BY expr [ASC|ASCENDING|DESC|DESCENDING] {',' ...}]
//!                [LIMIT int [OFFSET int]] [';']
//! column       = expr [AS identifier]
//! expr         = path | literal | parameter | function | aggregate      (aggregate: SELECT, ORDER BY)
//! aggregate    = COUNT '(' ('*' | [DISTINCT] path) ')' | (MIN|MAX|SUM|AVG) '(' path ')'
//! function     = name '(' [expr {',' expr}] ')'     LENGTH CONTAINS POSITION SUBSTRING CONCAT
//!                CONCAT_WS ABS MOD CEIL FLOOR ROUND CURRENT_DATE CURRENT_TIME CURRENT_DATE_TIME
//!                NOW CURRENT_TIMEZONE TERMINOLOGY, or any other name (implementation-defined)
//!
//! contains     = contains_and {OR contains_and}
//! contains_and = contains_item {AND contains_item}
//! contains_item= '(' contains ')' | class [[NOT] CONTAINS contains] | NOT contains_item (*)
//! class        = identifier [identifier] ['[' predicate ']']        EHR e[ehr_id/value=$id]
//!              | VERSION [identifier] ['[' LATEST_VERSION | ALL_VERSIONS | predicate ']']
//!
//! path         = identifier ['[' predicate ']'] {'/' attribute ['[' predicate ']']}
//! predicate    = pred_and {or pred_and};   pred_and = pred_atom {and pred_atom}
//! pred_atom    = node_id [',' (string | parameter | term_code | node_id)]   [at0001, 'Systolic']
//!              | parameter | object_path cmp operand | object_path matches {/regex/} | '(' predicate ')'
//! node_id      = at0001 | at0001.1 | id3 | openEHR-EHR-OBSERVATION.blood_pressure.v2
//! term_code    = terminology ['(' version ')'] '::' code ['|' text '|']   SNOMED-CT::1234
//!
//! condition    = xor {OR xor};  xor = and {XOR and} (*);  and = not {AND not}
//! not          = NOT not | '(' condition ')' | EXISTS path
//!              | expr (cmp expr | LIKE (string | parameter) | MATCHES matches)
//! matches      = '{' item {',' item} '}' | '{' uri '}' | TERMINOLOGY(...)
//! item         = literal | parameter | TERMINOLOGY(...)
//! cmp          = '=' | '!=' | '>' | '>=' | '<' | '<='
//! literal      = string ('...' or "..." with \ escapes) | ['-'] integer | ['-'] real | 1e3
//!              | true | false | NULL                 (dates and times are strings)
//! ```
//!
//! CONTAINS takes everything to its right (`A CONTAINS B AND C` is `A CONTAINS (B AND C)`).
//! NOT binds tighter than AND, AND than XOR, XOR than OR. Beyond the 1.1 grammar, marked (*):
//! XOR (from the language's earlier definition), `NOT class` under a CONTAINS
//! (`c CONTAINS (o AND NOT x)`), comparisons with any expression on either side, ORDER BY on
//! any expression, AND/OR in VERSION predicates, parentheses inside predicates and a trailing
//! `;`. Left out: the ADL constraints, arithmetic
//! and nested queries that the specification's examples mention but its grammar does not have.

pub mod ast;
pub mod check;
mod dump;
mod error;
pub mod eval;
pub mod index;
mod lexer;
mod parser;
mod print;
pub mod result;
pub mod rows;
pub mod sql;

pub use ast::Query;
pub use dump::debug_tree;
pub use error::ParseError;
pub use parser::parse;
pub use result::ResultSet;
