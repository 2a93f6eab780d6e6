//! The one error of this crate: where the query stops being AQL, and what was expected there.

use std::fmt;

use crate::ast::Span;

/// A syntax error, pointing at the offending token.
///
/// `Display` gives the whole sentence, e.g. `line 3, column 14: expected CONTAINS, WHERE,
/// ORDER BY, LIMIT or end of query, found 'WHER' (did you mean WHERE?)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    /// 1-based.
    pub line: u32,
    /// 1-based, in characters (not bytes) from the start of the line.
    pub column: u32,
    /// The offending token's bytes in the query.
    pub span: Span,
    /// What the grammar allows at this point, as keywords (`WHERE`), quoted symbols (`']'`)
    /// or descriptions (`a path`); empty when the error is not about a missing token.
    pub expected: Vec<String>,
    /// The offending token as written, or `end of query`.
    pub found: String,
    /// The sentence without the position and the hint.
    pub message: String,
    /// A guess at what was meant, when a cheap one exists.
    pub hint: Option<String>,
}

impl ParseError {
    pub(crate) fn new(span: Span, expected: Vec<String>, found: String, message: String) -> Self {
        ParseError {
            line: span.line,
            column: span.column,
            span,
            expected,
            found,
            message,
            hint: None,
        }
    }

    pub(crate) fn with_hint(mut self, hint: &str) -> Self {
        self.hint = Some(hint.to_string());
        self
    }

    /// The error with the query line it is on and a caret under the offending token.
    pub fn render(&self, source: &str) -> String {
        let line_text = source
            .split('\n')
            .nth(self.line.saturating_sub(1) as usize)
            .unwrap_or("")
            .trim_end_matches('\r');
        let before = self.column.saturating_sub(1) as usize;
        let token_characters = source
            .get(self.span.start..self.span.end)
            .map_or(1, |text| {
                text.split('\n').next().unwrap_or("").chars().count()
            })
            .max(1);
        let room = line_text.chars().count().saturating_sub(before).max(1);
        format!(
            "{self}\n  {line_text}\n  {}{}",
            " ".repeat(before),
            "^".repeat(token_characters.min(room))
        )
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )?;
        if let Some(hint) = &self.hint {
            write!(formatter, " ({hint})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseError {}

/// `a`, `a or b`, `a, b or c`.
pub(crate) fn one_of(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [only] => only.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}
