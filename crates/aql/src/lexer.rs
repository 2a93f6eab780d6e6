//! Turns query text into tokens, following the specification's `AqlLexer.g4`.
//!
//! The whole text is tokenised before parsing. A lexical error becomes an `Error` token
//! followed by the end, so the parser reports it only if it gets that far: whichever error
//! comes first in the text is the one reported.

use crate::ast::Span;
use crate::error::ParseError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keyword {
    Select,
    As,
    From,
    Where,
    Order,
    By,
    Desc,
    Descending,
    Asc,
    Ascending,
    Limit,
    Offset,
    Distinct,
    Version,
    LatestVersion,
    AllVersions,
    Null,
    True,
    False,
    Top,
    Forward,
    Backward,
    Contains,
    And,
    Or,
    Xor,
    Not,
    Exists,
    Like,
    Matches,
}

/// The reserved words. Function names are not among them: the grammar lets any identifier
/// name a function, so they are recognised by the `(` that follows.
const KEYWORDS: [(&str, Keyword); 30] = [
    ("SELECT", Keyword::Select),
    ("AS", Keyword::As),
    ("FROM", Keyword::From),
    ("WHERE", Keyword::Where),
    ("ORDER", Keyword::Order),
    ("BY", Keyword::By),
    ("DESC", Keyword::Desc),
    ("DESCENDING", Keyword::Descending),
    ("ASC", Keyword::Asc),
    ("ASCENDING", Keyword::Ascending),
    ("LIMIT", Keyword::Limit),
    ("OFFSET", Keyword::Offset),
    ("DISTINCT", Keyword::Distinct),
    ("VERSION", Keyword::Version),
    ("LATEST_VERSION", Keyword::LatestVersion),
    ("ALL_VERSIONS", Keyword::AllVersions),
    ("NULL", Keyword::Null),
    ("TRUE", Keyword::True),
    ("FALSE", Keyword::False),
    ("TOP", Keyword::Top),
    ("FORWARD", Keyword::Forward),
    ("BACKWARD", Keyword::Backward),
    ("CONTAINS", Keyword::Contains),
    ("AND", Keyword::And),
    ("OR", Keyword::Or),
    ("XOR", Keyword::Xor),
    ("NOT", Keyword::Not),
    ("EXISTS", Keyword::Exists),
    ("LIKE", Keyword::Like),
    ("MATCHES", Keyword::Matches),
];

impl Keyword {
    fn from_word(word: &str) -> Option<Keyword> {
        KEYWORDS
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(word))
            .map(|(_, keyword)| *keyword)
    }

    pub(crate) fn name(self) -> &'static str {
        KEYWORDS
            .iter()
            .find(|(_, keyword)| *keyword == self)
            .map_or("?", |(name, _)| name)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TokenKind {
    Keyword(Keyword),
    Identifier,
    /// `at0001`, `at0002.1`, `id3`.
    NodeCode,
    /// `openEHR-EHR-OBSERVATION.blood_pressure.v2`.
    ArchetypeId,
    /// `SNOMED-CT::1234`, `snomed_ct(3.1)::313267000|Pain|`.
    TermCode,
    /// Only directly after `{` (the `matches {uri}` form).
    Uri,
    /// `{/regex/}`, the whole token.
    Regex,
    /// `$name`.
    Parameter,
    Integer,
    /// Decimals and scientific notation.
    Real,
    /// The text between the quotes, escapes still as written (checked here, decoded by the
    /// parser, which knows whether it is a LIKE pattern).
    String,
    Comma,
    LeftParen,
    RightParen,
    LeftBracket,
    RightBracket,
    LeftBrace,
    RightBrace,
    Slash,
    Star,
    Minus,
    Semicolon,
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    Error(Box<ParseError>),
    End,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub kind: TokenKind,
    pub span: Span,
}

pub(crate) fn tokenize(source: &str) -> Vec<Token> {
    let mut lexer = Lexer {
        source,
        bytes: source.as_bytes(),
        position: 0,
        line: 1,
        column: 1,
        tokens: Vec::new(),
    };
    lexer.run();
    lexer.tokens
}

struct Lexer<'a> {
    source: &'a str,
    bytes: &'a [u8],
    position: usize,
    line: u32,
    column: u32,
    tokens: Vec<Token>,
}

fn is_alpha(byte: u8) -> bool {
    byte.is_ascii_alphabetic()
}

fn is_word(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

fn is_name(byte: u8) -> bool {
    is_word(byte) || byte == b'-'
}

fn is_term_code_char(byte: u8) -> bool {
    is_name(byte) || byte == b'.'
}

impl Lexer<'_> {
    fn byte(&self, offset: usize) -> Option<u8> {
        self.bytes.get(self.position + offset).copied()
    }

    fn here(&self) -> Span {
        Span {
            start: self.position,
            end: self.position,
            line: self.line,
            column: self.column,
        }
    }

    /// Moves to `end` (a byte offset on a character boundary), keeping line and column.
    fn advance_to(&mut self, end: usize) {
        for character in self.source[self.position..end].chars() {
            if character == '\n' {
                self.line += 1;
                self.column = 1;
            } else {
                self.column += 1;
            }
        }
        self.position = end;
    }

    fn push(&mut self, kind: TokenKind, end: usize) {
        let mut span = self.here();
        span.end = end;
        self.advance_to(end);
        self.tokens.push(Token { kind, span });
    }

    fn fail(&mut self, error: ParseError) {
        let span = error.span;
        self.tokens.push(Token {
            kind: TokenKind::Error(Box::new(error)),
            span,
        });
        self.push_end();
    }

    /// The end sits right after the last token, not after trailing blank lines and comments,
    /// so "found end of query" points where something is missing.
    fn push_end(&mut self) {
        let offset = self.tokens.last().map_or(0, |token| token.span.end);
        let (line, column) = line_and_column(self.source, offset);
        self.tokens.push(Token {
            kind: TokenKind::End,
            span: Span {
                start: offset,
                end: offset,
                line,
                column,
            },
        });
    }

    fn run(&mut self) {
        loop {
            self.skip_space_and_comments();
            let Some(byte) = self.byte(0) else {
                self.push_end();
                return;
            };
            if let Err(error) = self.token(byte) {
                self.fail(*error);
                return;
            }
        }
    }

    fn skip_space_and_comments(&mut self) {
        loop {
            match self.byte(0) {
                Some(b' ' | b'\t' | b'\r' | b'\n') => self.advance_to(self.position + 1),
                Some(b'-') if self.byte(1) == Some(b'-') => {
                    let end = self.source[self.position..]
                        .find('\n')
                        .map_or(self.source.len(), |offset| self.position + offset);
                    self.advance_to(end);
                }
                // a byte order mark is skipped, as the grammar's UNICODE_BOM rule does
                Some(0xEF) if self.source[self.position..].starts_with('\u{FEFF}') => {
                    self.position += '\u{FEFF}'.len_utf8();
                }
                _ => return,
            }
        }
    }

    fn token(&mut self, byte: u8) -> Result<(), Box<ParseError>> {
        let start = self.position;
        let single = |kind| Ok((kind, start + 1));
        let (kind, end) = match byte {
            b',' => single(TokenKind::Comma),
            b'(' => single(TokenKind::LeftParen),
            b')' => single(TokenKind::RightParen),
            b'[' => single(TokenKind::LeftBracket),
            b']' => single(TokenKind::RightBracket),
            b'}' => single(TokenKind::RightBrace),
            b'/' => single(TokenKind::Slash),
            b'*' => single(TokenKind::Star),
            b'-' => single(TokenKind::Minus),
            b';' => single(TokenKind::Semicolon),
            b'{' => match self.regex_end() {
                Some(end) => Ok((TokenKind::Regex, end)),
                None => single(TokenKind::LeftBrace),
            },
            b'=' if self.byte(1) == Some(b'=') => {
                Err(self.error(2, "unexpected '=='", "AQL compares with a single '='"))
            }
            b'=' => single(TokenKind::Equal),
            b'!' if self.byte(1) == Some(b'=') => Ok((TokenKind::NotEqual, start + 2)),
            b'!' => Err(self.error(
                1,
                "unexpected '!'",
                "write '!=' to compare or NOT to negate",
            )),
            b'<' if self.byte(1) == Some(b'=') => Ok((TokenKind::LessOrEqual, start + 2)),
            b'<' if self.byte(1) == Some(b'>') => {
                Err(self.error(2, "unexpected '<>'", "AQL writes 'not equal' as '!='"))
            }
            b'<' => single(TokenKind::Less),
            b'>' if self.byte(1) == Some(b'=') => Ok((TokenKind::GreaterOrEqual, start + 2)),
            b'>' => single(TokenKind::Greater),
            b'&' => Err(self.error(1, "unexpected '&'", "AQL writes 'and' as AND")),
            b'|' => Err(self.error(1, "unexpected '|'", "AQL writes 'or' as OR")),
            b'\'' | b'"' => self.string(byte).map(|end| (TokenKind::String, end)),
            b'$' => self.parameter(),
            b'0'..=b'9' => Ok(self.number()),
            b'.' if self.byte(1).is_some_and(|next| next.is_ascii_digit()) => Ok(self.number()),
            _ if is_alpha(byte) || byte == b'_' => Ok(self.word()),
            _ => {
                let character = self.source[start..].chars().next().unwrap_or('?');
                let mut span = self.here();
                span.end = start + character.len_utf8();
                Err(Box::new(ParseError::new(
                    span,
                    Vec::new(),
                    character.to_string(),
                    format!("unexpected character '{character}'"),
                )))
            }
        }?;
        self.push(kind, end);
        Ok(())
    }

    fn error(&self, length: usize, message: &str, hint: &str) -> Box<ParseError> {
        let mut span = self.here();
        span.end = self.position + length;
        let found = self.source[span.start..span.end].to_string();
        Box::new(ParseError::new(span, Vec::new(), found, message.to_string()).with_hint(hint))
    }

    /// The end of a `{/regex/}` token starting here, if this `{` opens one.
    fn regex_end(&self) -> Option<usize> {
        let bytes = self.bytes;
        let mut at = self.position + 1;
        let skip_space = |mut at: usize| {
            while matches!(bytes.get(at), Some(b' ' | b'\t' | b'\r' | b'\n')) {
                at += 1;
            }
            at
        };
        at = skip_space(at);
        if bytes.get(at) != Some(&b'/') {
            return None;
        }
        at += 1;
        let body_start = at;
        loop {
            match bytes.get(at)? {
                b'\\' => at += 2,
                b'/' => break,
                b'\n' | b'\r' => return None,
                _ => at += 1,
            }
        }
        if at == body_start {
            return None;
        }
        at = skip_space(at + 1);
        if bytes.get(at) == Some(&b';') {
            at = skip_space(at + 1);
            let quote = *bytes.get(at)?;
            if quote != b'\'' && quote != b'"' {
                return None;
            }
            at += 1;
            while *bytes.get(at)? != quote {
                at += if bytes[at] == b'\\' { 2 } else { 1 };
            }
            at = skip_space(at + 1);
        }
        (bytes.get(at) == Some(&b'}')).then_some(at + 1)
    }

    /// Checks a quoted string and returns the offset after its closing quote.
    fn string(&self, quote: u8) -> Result<usize, Box<ParseError>> {
        let mut at = self.position + 1;
        loop {
            match self.bytes.get(at) {
                None | Some(b'\n' | b'\r') => {
                    let quote = quote as char;
                    let mut span = self.here();
                    span.end = at;
                    return Err(Box::new(
                        ParseError::new(
                            span,
                            Vec::new(),
                            self.source[self.position..at].to_string(),
                            "unterminated string".to_string(),
                        )
                        .with_hint(&format!(
                            "the string starting here has no closing {quote} on its line"
                        )),
                    ));
                }
                Some(&byte) if byte == quote => return Ok(at + 1),
                Some(b'\\') => at = self.escape(at)?,
                Some(_) => at += 1,
            }
        }
    }

    /// Checks the escape sequence at `at` (a backslash) and returns the offset after it.
    fn escape(&self, at: usize) -> Result<usize, Box<ParseError>> {
        let bytes = self.bytes;
        let next = bytes.get(at + 1).copied();
        let end = match next {
            // `\*` is not a string escape of the grammar, but LIKE patterns need it
            Some(b'\'' | b'"' | b'?' | b'*' | b'a' | b'b' | b'f' | b'n' | b'r' | b't' | b'v') => {
                Some(at + 2)
            }
            Some(b'\\') => Some(at + 2),
            Some(b'u') => (bytes.len() >= at + 6
                && bytes[at + 2..at + 6].iter().all(u8::is_ascii_hexdigit))
            .then_some(at + 6),
            Some(b'0'..=b'7') => {
                let mut end = at + 2;
                while end < at + 4 && matches!(bytes.get(end), Some(b'0'..=b'7')) {
                    end += 1;
                }
                Some(end)
            }
            _ => None,
        };
        end.ok_or_else(|| {
            let (line, column) = line_and_column(self.source, at);
            let character_length = self.source[at + 1..]
                .chars()
                .next()
                .map_or(0, char::len_utf8);
            let span = Span {
                start: at,
                end: at + 1 + character_length,
                line,
                column,
            };
            let found = self.source[span.start..span.end].to_string();
            Box::new(
                ParseError::new(
                    span,
                    Vec::new(),
                    found.clone(),
                    format!("unknown escape sequence '{found}' in string"),
                )
                .with_hint("write \\\\ for a backslash"),
            )
        })
    }

    fn parameter(&self) -> Result<(TokenKind, usize), Box<ParseError>> {
        let start = self.position + 1;
        if !self
            .byte(1)
            .is_some_and(|byte| is_alpha(byte) || byte == b'_')
        {
            let mut span = self.here();
            span.end = start;
            return Err(Box::new(ParseError::new(
                span,
                vec!["a parameter name".to_string()],
                "$".to_string(),
                "expected a parameter name after '$'".to_string(),
            )));
        }
        let end = scan(self.bytes, start, is_word);
        Ok((TokenKind::Parameter, end))
    }

    fn number(&self) -> (TokenKind, usize) {
        let bytes = self.bytes;
        let mut end = scan(bytes, self.position, |byte| byte.is_ascii_digit());
        let mut kind = TokenKind::Integer;
        if bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
            end = scan(bytes, end + 1, |byte| byte.is_ascii_digit());
            kind = TokenKind::Real;
        }
        if matches!(bytes.get(end), Some(b'e' | b'E')) {
            let mut exponent = end + 1;
            if matches!(bytes.get(exponent), Some(b'+' | b'-')) {
                exponent += 1;
            }
            if bytes.get(exponent).is_some_and(u8::is_ascii_digit) {
                end = scan(bytes, exponent, |byte| byte.is_ascii_digit());
                kind = TokenKind::Real;
            }
        }
        (kind, end)
    }

    /// A word and the longer tokens that start like one, longest first as ANTLR would.
    fn word(&self) -> (TokenKind, usize) {
        let start = self.position;
        if let Some(end) = archetype_id_end(self.bytes, start) {
            return (TokenKind::ArchetypeId, end);
        }
        if let Some(end) = term_code_end(self.bytes, start) {
            return (TokenKind::TermCode, end);
        }
        let after_brace = self
            .tokens
            .last()
            .is_some_and(|token| token.kind == TokenKind::LeftBrace);
        if after_brace && let Some(end) = uri_end(self.bytes, start) {
            return (TokenKind::Uri, end);
        }
        let end = scan(self.bytes, start, is_word);
        let word = &self.source[start..end];
        if let Some(code_end) = node_code_end(self.bytes, start, end) {
            return (TokenKind::NodeCode, code_end);
        }
        match Keyword::from_word(word) {
            Some(keyword) => (TokenKind::Keyword(keyword), end),
            None => (TokenKind::Identifier, end),
        }
    }
}

fn scan(bytes: &[u8], mut at: usize, accept: impl Fn(u8) -> bool) -> usize {
    while bytes.get(at).is_some_and(|&byte| accept(byte)) {
        at += 1;
    }
    at
}

/// `at` or `id` and digits, then `.digits` groups: `at0001`, `at0002.1`, `id3`.
fn node_code_end(bytes: &[u8], start: usize, word_end: usize) -> Option<usize> {
    let word = &bytes[start..word_end];
    let is_code = word.len() > 2
        && (word.starts_with(b"at") || word.starts_with(b"id"))
        && word[2..].iter().all(u8::is_ascii_digit);
    if !is_code {
        return None;
    }
    let mut end = word_end;
    while bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
        end = scan(bytes, end + 1, |byte| byte.is_ascii_digit());
    }
    Some(end)
}

/// `[namespace::]rm_publisher-rm_package-rm_class.concept.vN[.N...][-rc|-alpha[.N]]`.
fn archetype_id_end(bytes: &[u8], start: usize) -> Option<usize> {
    // a namespace (`org.openehr::`) is taken only if an archetype id follows it
    let namespace_end = {
        let mut at = start;
        loop {
            if !bytes.get(at).copied().is_some_and(is_alpha) {
                break None;
            }
            at = scan(bytes, at, |byte| is_name(byte) || byte == b'%');
            match bytes.get(at) {
                Some(b'.') => at += 1,
                Some(b':') if bytes.get(at + 1) == Some(&b':') => break Some(at + 2),
                _ => break None,
            }
        }
    };
    if let Some(after_namespace) = namespace_end
        && let Some(end) = archetype_id_without_namespace(bytes, after_namespace)
    {
        return Some(end);
    }
    archetype_id_without_namespace(bytes, start)
}

fn archetype_id_without_namespace(bytes: &[u8], start: usize) -> Option<usize> {
    let identifier = |at: usize| -> Option<usize> {
        bytes
            .get(at)
            .copied()
            .filter(|&byte| is_alpha(byte))
            .map(|_| scan(bytes, at + 1, is_word))
    };
    let expect = |at: usize, byte: u8| (bytes.get(at) == Some(&byte)).then_some(at + 1);
    let mut at = identifier(start)?;
    at = expect(at, b'-')?;
    at = identifier(at)?;
    at = expect(at, b'-')?;
    at = identifier(at)?;
    at = expect(at, b'.')?;
    if !bytes.get(at).copied().is_some_and(is_alpha) {
        return None;
    }
    at = scan(bytes, at + 1, is_name);
    at = expect(at, b'.')?;
    at = expect(at, b'v')?;
    if !bytes.get(at).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let digits_after_dot = |at: usize| {
        (bytes.get(at) == Some(&b'.') && bytes.get(at + 1).is_some_and(u8::is_ascii_digit))
            .then(|| scan(bytes, at + 1, |byte| byte.is_ascii_digit()))
    };
    at = scan(bytes, at, |byte| byte.is_ascii_digit());
    while let Some(end) = digits_after_dot(at) {
        at = end;
    }
    for suffix in [&b"-rc"[..], b"-alpha"] {
        if bytes[at..].starts_with(suffix) {
            at += suffix.len();
            if let Some(end) = digits_after_dot(at) {
                at = end;
            }
            break;
        }
    }
    Some(at)
}

/// `terminology[(version)]::code[|value|]`.
fn term_code_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut at = scan(bytes, start, is_term_code_char);
    if bytes.get(at) == Some(&b'(') {
        let version_end = scan(bytes, at + 1, is_term_code_char);
        if version_end == at + 1 || bytes.get(version_end) != Some(&b')') {
            return None;
        }
        at = version_end + 1;
    }
    if !bytes[at..].starts_with(b"::") {
        return None;
    }
    let code_end = scan(bytes, at + 2, is_term_code_char);
    if code_end == at + 2 {
        return None;
    }
    at = code_end;
    if bytes.get(at) == Some(&b'|') {
        let text_end = scan(bytes, at + 1, |byte| {
            !matches!(byte, b'|' | b'[' | b']' | b'\n')
        });
        if text_end > at + 1 && bytes.get(text_end) == Some(&b'|') {
            at = text_end + 1;
        }
    }
    Some(at)
}

/// `scheme:rest` of RFC 3986, ending before white space or the closing brace.
fn uri_end(bytes: &[u8], start: usize) -> Option<usize> {
    let scheme_end = scan(bytes, start, |byte| {
        byte.is_ascii_alphanumeric() || matches!(byte, b'+' | b'-' | b'.')
    });
    if bytes.get(scheme_end) != Some(&b':') || bytes.get(scheme_end + 1) == Some(&b':') {
        return None;
    }
    let end = scan(bytes, scheme_end + 1, |byte| {
        byte.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=:@/?#[]".contains(&byte)
    });
    Some(end)
}

/// The 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_and_column(source: &str, offset: usize) -> (u32, u32) {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |index| index + 1);
    let column = before[line_start..].chars().count() + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(source: &str) -> Vec<(TokenKind, &str)> {
        tokenize(source)
            .into_iter()
            .map(|token| {
                let text = &source[token.span.start..token.span.end];
                (token.kind, text)
            })
            .collect()
    }

    #[test]
    fn long_tokens_win_over_words() {
        let tokens = kinds(
            "[openEHR-EHR-OBSERVATION.blood_pressure.v2] [at0002.1, SNOMED-CT::1234|Pain|] \
             org.openehr::openEHR-EHR-CLUSTER.x-y.v1.0.2-rc.1 snomed_ct(3.1)::313267000",
        );
        let texts: Vec<_> = tokens
            .iter()
            .filter(|(kind, _)| {
                matches!(
                    kind,
                    TokenKind::ArchetypeId | TokenKind::TermCode | TokenKind::NodeCode
                )
            })
            .map(|(_, text)| *text)
            .collect();
        assert_eq!(
            texts,
            [
                "openEHR-EHR-OBSERVATION.blood_pressure.v2",
                "at0002.1",
                "SNOMED-CT::1234|Pain|",
                "org.openehr::openEHR-EHR-CLUSTER.x-y.v1.0.2-rc.1",
                "snomed_ct(3.1)::313267000"
            ]
        );
    }

    #[test]
    fn uris_only_after_a_brace() {
        let tokens = kinds("{ terminology://snomed-ct/hierarchy?rootConceptId=50043002 }");
        assert_eq!(
            tokens[1],
            (
                TokenKind::Uri,
                "terminology://snomed-ct/hierarchy?rootConceptId=50043002"
            )
        );
        assert!(matches!(kinds("a:b")[1].0, TokenKind::Error(_)));
    }

    #[test]
    fn numbers_and_comments() {
        let tokens = kinds("1 2.5 .5 1e3 1.2E-4 -- comment\n7");
        let kinds: Vec<_> = tokens.iter().map(|(kind, _)| kind.clone()).collect();
        assert_eq!(
            kinds,
            [
                TokenKind::Integer,
                TokenKind::Real,
                TokenKind::Real,
                TokenKind::Real,
                TokenKind::Real,
                TokenKind::Integer,
                TokenKind::End
            ]
        );
    }

    #[test]
    fn columns_count_characters() {
        assert_eq!(line_and_column("é\nab", 4), (2, 2));
        assert_eq!(line_and_column("éa", 3), (1, 3));
    }
}
