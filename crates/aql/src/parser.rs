//! Recursive descent over the tokens, one function per rule of the grammar in `lib.rs`.
//!
//! Every check of the current token records what it looked for, so an error lists exactly
//! what the grammar allows at the point where the query went wrong; the record is cleared
//! whenever a token is consumed.

use crate::ast::*;
use crate::error::{ParseError, one_of};
use crate::lexer::{Keyword, Token, TokenKind, tokenize};

/// Nesting (parentheses, NOT, CONTAINS chains, predicates, function arguments) beyond this is
/// refused, so that a hostile query cannot exhaust the stack of a recursive parser. Real
/// queries nest a handful of levels; 32 keeps an unoptimised build within a 2 MB thread stack.
const MAX_DEPTH: usize = 32;

/// Parses one AQL query.
#[expect(
    clippy::result_large_err,
    reason = "the error is half of what a parse produces; it is moved once, at the end"
)]
pub fn parse(source: &str) -> Result<Query, ParseError> {
    let mut parser = Parser {
        source,
        tokens: tokenize(source),
        position: 0,
        expected: Vec::new(),
        previous_end: 0,
        depth: 0,
    };
    parser.query().map_err(|error| *error)
}

/// Errors are boxed inside the parser: every rule returns a `Parsed`, and a small error keeps
/// the recursion's stack frames small.
type Parsed<T> = Result<T, Box<ParseError>>;

/// Where an expression stands decides whether aggregates are allowed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Column,
    OrderBy,
    Condition,
    Argument,
}

struct Parser<'a> {
    source: &'a str,
    tokens: Vec<Token>,
    position: usize,
    expected: Vec<&'static str>,
    previous_end: usize,
    depth: usize,
}

impl Parser<'_> {
    // ---- token access -------------------------------------------------------------------

    fn current(&self) -> &Token {
        &self.tokens[self.position]
    }

    fn kind(&self) -> &TokenKind {
        &self.current().kind
    }

    fn nth_kind(&self, offset: usize) -> &TokenKind {
        let index = (self.position + offset).min(self.tokens.len() - 1);
        &self.tokens[index].kind
    }

    fn text(&self) -> &str {
        let span = self.current().span;
        &self.source[span.start..span.end]
    }

    fn bump(&mut self) -> Token {
        let token = self.current().clone();
        if !matches!(token.kind, TokenKind::End | TokenKind::Error(_)) {
            self.position += 1;
            self.previous_end = token.span.end;
            self.expected.clear();
        }
        token
    }

    fn expect_label(&mut self, label: &'static str) {
        self.expected.push(label);
    }

    fn at(&mut self, kind: TokenKind, label: &'static str) -> bool {
        self.expect_label(label);
        *self.kind() == kind
    }

    fn eat(&mut self, kind: TokenKind, label: &'static str) -> Option<Span> {
        self.at(kind, label).then(|| self.bump().span)
    }

    fn expect(&mut self, kind: TokenKind, label: &'static str) -> Parsed<Span> {
        self.eat(kind, label).ok_or_else(|| self.error_here())
    }

    fn at_keyword(&mut self, keyword: Keyword) -> bool {
        self.at(TokenKind::Keyword(keyword), keyword.name())
    }

    fn eat_keyword(&mut self, keyword: Keyword) -> Option<Span> {
        self.at_keyword(keyword).then(|| self.bump().span)
    }

    fn expect_keyword(&mut self, keyword: Keyword) -> Parsed<Span> {
        self.eat_keyword(keyword).ok_or_else(|| self.error_here())
    }

    fn span_from(&self, start: Span) -> Span {
        Span {
            end: self.previous_end.max(start.start),
            ..start
        }
    }

    fn enter(&mut self) -> Parsed<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let token = self.current();
            return Err(Box::new(ParseError::new(
                token.span,
                Vec::new(),
                found_text(self.source, token),
                format!("the query is nested too deeply (more than {MAX_DEPTH} levels)"),
            )));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    // ---- errors -------------------------------------------------------------------------

    /// The error for the current token, listing what was expected instead.
    fn error_here(&self) -> Box<ParseError> {
        let token = self.current();
        if let TokenKind::Error(error) = &token.kind {
            return error.clone();
        }
        let mut expected: Vec<String> = Vec::new();
        for label in &self.expected {
            if !expected.iter().any(|known| known == label) {
                expected.push((*label).to_string());
            }
        }
        let found = found_text(self.source, token);
        let shown = if token.kind == TokenKind::End {
            found.clone()
        } else {
            format!("'{found}'")
        };
        let message = if expected.is_empty() {
            format!("unexpected {shown}")
        } else {
            format!("expected {}, found {shown}", one_of(&expected))
        };
        let hint = self.hint(token, &found);
        let error = ParseError::new(token.span, expected, found, message);
        Box::new(match hint {
            Some(hint) => error.with_hint(&hint),
            None => error,
        })
    }

    /// A cheap guess at the mistake: a misspelt keyword, a missing AS.
    fn hint(&self, token: &Token, found: &str) -> Option<String> {
        if !matches!(
            token.kind,
            TokenKind::Identifier | TokenKind::Keyword(_) | TokenKind::NodeCode
        ) {
            return None;
        }
        let wanted_keywords: Vec<&str> = self
            .expected
            .iter()
            .filter(|label| {
                label
                    .bytes()
                    .all(|byte| byte.is_ascii_uppercase() || b" _".contains(&byte))
            })
            .flat_map(|label| label.split(' '))
            .collect();
        let found_upper = found.to_ascii_uppercase();
        // SQL habits that AQL spells differently
        if self.expected.contains(&"LIKE") {
            if found_upper == "IN" {
                return Some("AQL writes IN (...) as MATCHES {...}".to_string());
            }
            if found_upper == "NOT" {
                return Some("negate the whole condition instead: NOT (path LIKE ...)".to_string());
            }
        }
        let closest = |candidates: &mut dyn Iterator<Item = &str>| {
            candidates
                .filter(|candidate| *candidate != found_upper)
                .map(|candidate| {
                    (
                        edit_distance(&found_upper, candidate),
                        candidate.to_string(),
                    )
                })
                .filter(|(distance, candidate)| *distance <= allowed_typos(candidate.len()))
                .min_by_key(|(distance, _)| *distance)
                .map(|(_, candidate)| candidate)
        };
        if let Some(keyword) = closest(&mut wanted_keywords.iter().copied()) {
            return Some(format!("did you mean {keyword}?"));
        }
        if token.kind == TokenKind::Identifier && wanted_keywords.contains(&"AS") {
            return Some("an alias needs AS before it".to_string());
        }
        let wants_name = self
            .expected
            .iter()
            .any(|label| ["a variable", "an alias"].contains(label));
        if let TokenKind::Keyword(keyword) = token.kind
            && wants_name
        {
            return Some(format!("{} is a reserved word", keyword.name()));
        }
        None
    }

    fn error_at(&self, span: Span, message: String, hint: Option<&str>) -> Box<ParseError> {
        let found = self.source[span.start..span.end].to_string();
        let error = ParseError::new(span, Vec::new(), found, message);
        Box::new(match hint {
            Some(hint) => error.with_hint(hint),
            None => error,
        })
    }

    // ---- query --------------------------------------------------------------------------

    fn query(&mut self) -> Parsed<Query> {
        let start = self.current().span;
        self.expect_keyword(Keyword::Select)?;
        let distinct = self.eat_keyword(Keyword::Distinct).is_some();
        let top = match self.eat_keyword(Keyword::Top) {
            Some(top_start) => Some(self.top(top_start)?),
            None => None,
        };
        let mut columns = vec![self.column()?];
        while self.eat(TokenKind::Comma, "','").is_some() {
            columns.push(self.column()?);
        }
        let select = Select {
            distinct,
            columns,
            span: self.span_from(start),
        };
        self.expect_keyword(Keyword::From)?;
        let from = self.contains_expr(false)?;
        let where_clause = match self.eat_keyword(Keyword::Where) {
            Some(_) => Some(self.condition()?),
            None => None,
        };
        let mut order_by = Vec::new();
        if self.at(TokenKind::Keyword(Keyword::Order), "ORDER BY") {
            self.bump();
            self.expect_keyword(Keyword::By)?;
            order_by.push(self.order_by_item()?);
            while self.eat(TokenKind::Comma, "','").is_some() {
                order_by.push(self.order_by_item()?);
            }
        }
        let (mut limit, mut offset) = (None, None);
        if let Some(limit_span) = self.eat_keyword(Keyword::Limit) {
            if top.is_some() {
                return Err(self.error_at(
                    limit_span,
                    "a query cannot have both TOP and LIMIT".to_string(),
                    Some("TOP is deprecated; use ORDER BY with LIMIT"),
                ));
            }
            limit = Some(self.count()?);
            if self.eat_keyword(Keyword::Offset).is_some() {
                offset = Some(self.count()?);
            }
        }
        // a trailing semicolon is common in clients' queries and harmless
        if *self.kind() == TokenKind::Semicolon {
            self.bump();
        }
        self.expect(TokenKind::End, "end of query")?;
        Ok(Query {
            select,
            from,
            where_clause,
            order_by,
            limit,
            offset,
            top,
            span: self.span_from(start),
        })
    }

    fn top(&mut self, start: Span) -> Parsed<Top> {
        let count = self.count()?;
        let direction = if self.eat_keyword(Keyword::Forward).is_some() {
            Some(TopDirection::Forward)
        } else if self.eat_keyword(Keyword::Backward).is_some() {
            Some(TopDirection::Backward)
        } else {
            None
        };
        Ok(Top {
            count,
            direction,
            span: self.span_from(start),
        })
    }

    fn count(&mut self) -> Parsed<Count> {
        if !self.at(TokenKind::Integer, "an integer") {
            return Err(self.error_here());
        }
        let token = self.bump();
        let text = &self.source[token.span.start..token.span.end];
        let value = text.parse::<u64>().map_err(|_| {
            self.error_at(token.span, "the number is out of range".to_string(), None)
        })?;
        Ok(Count {
            value,
            span: token.span,
        })
    }

    fn column(&mut self) -> Parsed<Column> {
        let start = self.current().span;
        let expr = self.expr(Place::Column)?;
        let alias = match self.eat_keyword(Keyword::As) {
            Some(_) => Some(self.identifier("an alias")?),
            None => None,
        };
        Ok(Column {
            expr,
            alias,
            span: self.span_from(start),
        })
    }

    fn order_by_item(&mut self) -> Parsed<OrderBy> {
        let start = self.current().span;
        let expr = self.expr(Place::OrderBy)?;
        let mut direction = SortDirection::Ascending;
        if self.eat_keyword(Keyword::Desc).is_some()
            || self.eat_keyword(Keyword::Descending).is_some()
        {
            direction = SortDirection::Descending;
        } else if self.eat_keyword(Keyword::Asc).is_none() {
            self.eat_keyword(Keyword::Ascending);
        }
        Ok(OrderBy {
            expr,
            direction,
            span: self.span_from(start),
        })
    }

    /// A variable or alias name. `at1` and `id2` lex as node codes but are fine names here.
    fn identifier(&mut self, label: &'static str) -> Parsed<Identifier> {
        self.expect_label(label);
        let is_name = match self.kind() {
            TokenKind::Identifier => true,
            TokenKind::NodeCode => !self.text().contains('.'),
            _ => false,
        };
        if !is_name {
            return Err(self.error_here());
        }
        let token = self.bump();
        Ok(Identifier {
            name: self.source[token.span.start..token.span.end].to_string(),
            span: token.span,
        })
    }

    // ---- FROM ---------------------------------------------------------------------------

    /// `or`-level containment; `under_contains` is whether this is the right side of a
    /// CONTAINS, the only place where a bare NOT means something.
    fn contains_expr(&mut self, under_contains: bool) -> Parsed<ContainsExpr> {
        self.enter()?;
        let start = self.current().span;
        let mut operands = vec![self.contains_and(under_contains)?];
        while self.eat_keyword(Keyword::Or).is_some() {
            operands.push(self.contains_and(under_contains)?);
        }
        self.leave();
        Ok(if operands.len() == 1 {
            operands.pop().expect("one operand")
        } else {
            ContainsExpr::Or {
                operands: flatten(operands, |operand| match operand {
                    ContainsExpr::Or { operands, .. } => Splice::Inner(operands),
                    other => Splice::Keep(other),
                }),
                span: self.span_from(start),
            }
        })
    }

    fn contains_and(&mut self, under_contains: bool) -> Parsed<ContainsExpr> {
        let start = self.current().span;
        let mut operands = vec![self.contains_primary(under_contains)?];
        while self.eat_keyword(Keyword::And).is_some() {
            operands.push(self.contains_primary(under_contains)?);
        }
        Ok(if operands.len() == 1 {
            operands.pop().expect("one operand")
        } else {
            ContainsExpr::And {
                operands: flatten(operands, |operand| match operand {
                    ContainsExpr::And { operands, .. } => Splice::Inner(operands),
                    other => Splice::Keep(other),
                }),
                span: self.span_from(start),
            }
        })
    }

    fn contains_primary(&mut self, under_contains: bool) -> Parsed<ContainsExpr> {
        let start = self.current().span;
        if self.eat(TokenKind::LeftParen, "'('").is_some() {
            let inner = self.contains_expr(under_contains)?;
            self.expect(TokenKind::RightParen, "')'")?;
            return Ok(inner);
        }
        if !under_contains && *self.kind() == TokenKind::Keyword(Keyword::Not) {
            return Err(self.error_at(
                start,
                "NOT in FROM must stand under a CONTAINS".to_string(),
                Some("write 'parent NOT CONTAINS child'"),
            ));
        }
        if under_contains && self.eat_keyword(Keyword::Not).is_some() {
            self.enter()?;
            let operand = self.contains_primary(true)?;
            self.leave();
            return Ok(ContainsExpr::Not {
                operand: Box::new(operand),
                span: self.span_from(start),
            });
        }
        let parent = self.class_expr()?;
        let negated = if self.eat_keyword(Keyword::Contains).is_some() {
            false
        } else if self.at(TokenKind::Keyword(Keyword::Not), "NOT CONTAINS") {
            self.bump();
            self.expect_keyword(Keyword::Contains)?;
            true
        } else {
            return Ok(ContainsExpr::Class(parent));
        };
        let child = self.contains_expr(true)?;
        Ok(ContainsExpr::Contains {
            parent,
            negated,
            child: Box::new(child),
            span: self.span_from(start),
        })
    }

    fn class_expr(&mut self) -> Parsed<ClassExpr> {
        let start = self.current().span;
        self.expect_label("a class name");
        let is_version = *self.kind() == TokenKind::Keyword(Keyword::Version);
        if !is_version && *self.kind() != TokenKind::Identifier {
            return Err(self.error_here());
        }
        let token = self.bump();
        let class = Identifier {
            name: self.source[token.span.start..token.span.end].to_string(),
            span: token.span,
        };
        self.expect_label("a variable");
        let variable = match self.kind() {
            TokenKind::Identifier => Some(self.identifier("a variable")?),
            TokenKind::NodeCode if !self.text().contains('.') => {
                Some(self.identifier("a variable")?)
            }
            _ => None,
        };
        let predicate = if self.at(TokenKind::LeftBracket, "'['") {
            Some(self.predicate(is_version)?)
        } else {
            None
        };
        Ok(ClassExpr {
            class,
            variable,
            predicate,
            span: self.span_from(start),
        })
    }

    // ---- paths and predicates -----------------------------------------------------------

    fn path(&mut self) -> Parsed<Path> {
        let start = self.current().span;
        let variable = self.identifier("a variable")?;
        let predicate = if self.at(TokenKind::LeftBracket, "'['") {
            Some(self.predicate(false)?)
        } else {
            None
        };
        let mut segments = Vec::new();
        while self.eat(TokenKind::Slash, "'/'").is_some() {
            segments.push(self.path_segment()?);
        }
        Ok(Path {
            variable,
            predicate,
            segments,
            span: self.span_from(start),
        })
    }

    fn object_path(&mut self) -> Parsed<ObjectPath> {
        let start = self.current().span;
        let mut segments = vec![self.path_segment()?];
        while self.eat(TokenKind::Slash, "'/'").is_some() {
            segments.push(self.path_segment()?);
        }
        Ok(ObjectPath {
            segments,
            span: self.span_from(start),
        })
    }

    /// Reserved words are not attribute names: no RM attribute is spelt like one, and taking
    /// them would turn `c/name/ FROM` into a path ending in an attribute called FROM.
    fn path_segment(&mut self) -> Parsed<PathSegment> {
        let start = self.current().span;
        let attribute = self.identifier("an attribute name")?;
        let predicate = if self.at(TokenKind::LeftBracket, "'['") {
            Some(self.predicate(false)?)
        } else {
            None
        };
        Ok(PathSegment {
            attribute,
            predicate,
            span: self.span_from(start),
        })
    }

    /// `[...]`; `version` allows LATEST_VERSION and ALL_VERSIONS (after the class VERSION).
    fn predicate(&mut self, version: bool) -> Parsed<Predicate> {
        self.enter()?;
        self.expect(TokenKind::LeftBracket, "'['")?;
        let predicate = self.predicate_or(version)?;
        self.expect(TokenKind::RightBracket, "']'")?;
        self.leave();
        Ok(predicate)
    }

    fn predicate_or(&mut self, version: bool) -> Parsed<Predicate> {
        let start = self.current().span;
        let mut operands = vec![self.predicate_and(version)?];
        while self.eat_keyword(Keyword::Or).is_some() {
            operands.push(self.predicate_and(version)?);
        }
        Ok(if operands.len() == 1 {
            operands.pop().expect("one operand")
        } else {
            Predicate::Or {
                operands: flatten(operands, |operand| match operand {
                    Predicate::Or { operands, .. } => Splice::Inner(operands),
                    other => Splice::Keep(other),
                }),
                span: self.span_from(start),
            }
        })
    }

    fn predicate_and(&mut self, version: bool) -> Parsed<Predicate> {
        let start = self.current().span;
        let mut operands = vec![self.predicate_atom(version)?];
        while self.eat_keyword(Keyword::And).is_some() {
            operands.push(self.predicate_atom(version)?);
        }
        Ok(if operands.len() == 1 {
            operands.pop().expect("one operand")
        } else {
            Predicate::And {
                operands: flatten(operands, |operand| match operand {
                    Predicate::And { operands, .. } => Splice::Inner(operands),
                    other => Splice::Keep(other),
                }),
                span: self.span_from(start),
            }
        })
    }

    fn predicate_atom(&mut self, version: bool) -> Parsed<Predicate> {
        let start = self.current().span;
        if self.eat(TokenKind::LeftParen, "'('").is_some() {
            self.enter()?;
            let inner = self.predicate_or(version)?;
            self.expect(TokenKind::RightParen, "')'")?;
            self.leave();
            return Ok(inner);
        }
        if version {
            self.expect_label("LATEST_VERSION");
            self.expect_label("ALL_VERSIONS");
        }
        self.expect_label("a node id");
        self.expect_label("an archetype id");
        self.expect_label("a parameter");
        self.expect_label("a path");
        match self.kind().clone() {
            TokenKind::Keyword(keyword @ (Keyword::LatestVersion | Keyword::AllVersions)) => {
                if !version {
                    return Err(self.error_at(
                        start,
                        format!("{} is only allowed in a VERSION predicate", keyword.name()),
                        Some("write VERSION v[LATEST_VERSION]"),
                    ));
                }
                self.bump();
                Ok(if keyword == Keyword::LatestVersion {
                    Predicate::LatestVersion(start)
                } else {
                    Predicate::AllVersions(start)
                })
            }
            TokenKind::NodeCode | TokenKind::ArchetypeId => self.node_predicate(start),
            TokenKind::Parameter => Ok(Predicate::Parameter(self.parameter())),
            TokenKind::Identifier => self.standard_predicate(start),
            _ => Err(self.error_here()),
        }
    }

    /// `at0001`, `at0001, 'name'` and the other node forms.
    fn node_predicate(&mut self, start: Span) -> Parsed<Predicate> {
        let node = self.node_id();
        let name = if self.eat(TokenKind::Comma, "','").is_some() {
            Some(self.name_shortcut()?)
        } else {
            None
        };
        Ok(Predicate::Node {
            node,
            name,
            span: self.span_from(start),
        })
    }

    /// `path op operand` or `path matches {/regex/}`.
    fn standard_predicate(&mut self, start: Span) -> Parsed<Predicate> {
        let path = self.object_path()?;
        if self.at_keyword(Keyword::Matches) {
            self.bump();
            if !self.at(TokenKind::Regex, "a regular expression such as {/^a.*/}") {
                return Err(self.error_here());
            }
            let token = self.bump();
            let text = &self.source[token.span.start..token.span.end];
            let pattern = text[1..text.len() - 1].trim().to_string();
            return Ok(Predicate::Matches {
                path,
                pattern,
                span: self.span_from(start),
            });
        }
        let op = self.comparison_op()?;
        let operand = self.predicate_operand()?;
        Ok(Predicate::Comparison {
            path,
            op,
            operand,
            span: self.span_from(start),
        })
    }

    /// The current token, a node code or an archetype id.
    fn node_id(&mut self) -> NodeId {
        let token = self.bump();
        let text = self.source[token.span.start..token.span.end].to_string();
        match token.kind {
            TokenKind::ArchetypeId => NodeId::Archetype(text),
            _ if text.starts_with("id") => NodeId::IdCode(text),
            _ => NodeId::AtCode(text),
        }
    }

    fn name_shortcut(&mut self) -> Parsed<NameShortcut> {
        self.expect_label("a name string");
        self.expect_label("a parameter");
        self.expect_label("a term code such as SNOMED-CT::1234");
        self.expect_label("a node id");
        match self.kind() {
            TokenKind::String => Ok(NameShortcut::Value(self.string_literal())),
            TokenKind::Parameter => Ok(NameShortcut::Parameter(self.parameter())),
            TokenKind::TermCode => Ok(NameShortcut::TermCode(self.term_code())),
            TokenKind::NodeCode | TokenKind::ArchetypeId => {
                let span = self.current().span;
                Ok(NameShortcut::Code(self.node_id(), span))
            }
            _ => Err(self.error_here()),
        }
    }

    fn term_code(&mut self) -> TermCode {
        let token = self.bump();
        let text = &self.source[token.span.start..token.span.end];
        // the lexer guarantees the shape `terminology[(version)]::code[|value|]`
        let (terminology_part, code_part) = text.split_once("::").unwrap_or((text, ""));
        let (terminology, version) = match terminology_part.split_once('(') {
            Some((terminology, version)) => (
                terminology.to_string(),
                Some(version.trim_end_matches(')').to_string()),
            ),
            None => (terminology_part.to_string(), None),
        };
        let (code, value) = match code_part.split_once('|') {
            Some((code, value)) => (
                code.to_string(),
                Some(value.trim_end_matches('|').to_string()),
            ),
            None => (code_part.to_string(), None),
        };
        TermCode {
            terminology,
            version,
            code,
            value,
            span: token.span,
        }
    }

    fn predicate_operand(&mut self) -> Parsed<PredicateOperand> {
        self.expect_label("a value");
        self.expect_label("a parameter");
        self.expect_label("a node id");
        self.expect_label("a path");
        match self.kind() {
            TokenKind::Parameter => Ok(PredicateOperand::Parameter(self.parameter())),
            TokenKind::NodeCode | TokenKind::ArchetypeId => {
                let span = self.current().span;
                Ok(PredicateOperand::Node(self.node_id(), span))
            }
            TokenKind::Identifier => Ok(PredicateOperand::Path(self.object_path()?)),
            kind if starts_literal(kind) => Ok(PredicateOperand::Literal(self.literal()?)),
            _ => Err(self.error_here()),
        }
    }

    fn comparison_op(&mut self) -> Parsed<ComparisonOp> {
        self.expect_label("a comparison operator");
        let op = match self.kind() {
            TokenKind::Equal => ComparisonOp::Equal,
            TokenKind::NotEqual => ComparisonOp::NotEqual,
            TokenKind::Less => ComparisonOp::Less,
            TokenKind::LessOrEqual => ComparisonOp::LessOrEqual,
            TokenKind::Greater => ComparisonOp::Greater,
            TokenKind::GreaterOrEqual => ComparisonOp::GreaterOrEqual,
            _ => return Err(self.error_here()),
        };
        self.bump();
        Ok(op)
    }

    // ---- WHERE --------------------------------------------------------------------------

    fn condition(&mut self) -> Parsed<Condition> {
        self.enter()?;
        let condition = self.condition_level(0);
        self.leave();
        condition
    }

    /// OR (level 0), XOR (1) and AND (2), loosest first. The recursive path through here and
    /// `condition_not` is kept free of large locals: unoptimised builds give every temporary
    /// its own stack slot, and nesting depth is bounded by the stack.
    fn condition_level(&mut self, level: u8) -> Parsed<Condition> {
        let start = self.current().span;
        let keyword = [Keyword::Or, Keyword::Xor, Keyword::And][usize::from(level)];
        let mut operands = vec![self.condition_operand(level)?];
        while self.eat_keyword(keyword).is_some() {
            operands.push(self.condition_operand(level)?);
        }
        if operands.len() == 1 {
            return Ok(operands.pop().expect("one operand"));
        }
        Ok(n_ary_condition(level, operands, self.span_from(start)))
    }

    fn condition_operand(&mut self, level: u8) -> Parsed<Condition> {
        if level < 2 {
            self.condition_level(level + 1)
        } else {
            self.condition_not()
        }
    }

    fn condition_not(&mut self) -> Parsed<Condition> {
        let start = self.current().span;
        if self.eat_keyword(Keyword::Not).is_some() {
            self.enter()?;
            let operand = Box::new(self.condition_not()?);
            self.leave();
            return Ok(Condition::Not {
                operand,
                span: self.span_from(start),
            });
        }
        if self.eat(TokenKind::LeftParen, "'('").is_some() {
            let inner = self.condition()?;
            self.expect(TokenKind::RightParen, "')'")?;
            return Ok(inner);
        }
        self.condition_leaf(start)
    }

    /// EXISTS, a comparison, LIKE or MATCHES.
    fn condition_leaf(&mut self, start: Span) -> Parsed<Condition> {
        if self.eat_keyword(Keyword::Exists).is_some() {
            let path = Box::new(self.path()?);
            return Ok(Condition::Exists {
                path,
                span: self.span_from(start),
            });
        }
        let operand = Box::new(self.expr(Place::Condition)?);
        if self.eat_keyword(Keyword::Like).is_some() {
            let pattern = self.like_pattern()?;
            return Ok(Condition::Like {
                operand,
                pattern,
                span: self.span_from(start),
            });
        }
        if self.eat_keyword(Keyword::Matches).is_some() {
            let matches = self.matches_operand()?;
            return Ok(Condition::Matches {
                operand,
                matches,
                span: self.span_from(start),
            });
        }
        let op = self.comparison_op()?;
        let right = Box::new(self.expr(Place::Condition)?);
        Ok(Condition::Comparison {
            left: operand,
            op,
            right,
            span: self.span_from(start),
        })
    }

    fn like_pattern(&mut self) -> Parsed<LikePattern> {
        self.expect_label("a pattern string");
        self.expect_label("a parameter");
        match self.kind() {
            TokenKind::String => {
                let token = self.bump();
                let raw = &self.source[token.span.start + 1..token.span.end - 1];
                Ok(LikePattern::Pattern {
                    pattern: decode_string(raw, true),
                    span: token.span,
                })
            }
            TokenKind::Parameter => Ok(LikePattern::Parameter(self.parameter())),
            _ => Err(self.error_here()),
        }
    }

    fn matches_operand(&mut self) -> Parsed<MatchesOperand> {
        let start = self.current().span;
        if self.eat(TokenKind::LeftBrace, "'{'").is_some() {
            if *self.kind() == TokenKind::Uri {
                let token = self.bump();
                let uri = self.source[token.span.start..token.span.end].to_string();
                self.expect(TokenKind::RightBrace, "'}'")?;
                return Ok(MatchesOperand::Uri {
                    uri,
                    span: self.span_from(start),
                });
            }
            let mut items = vec![self.value_list_item()?];
            while self.eat(TokenKind::Comma, "','").is_some() {
                items.push(self.value_list_item()?);
            }
            self.expect(TokenKind::RightBrace, "'}'")?;
            return Ok(MatchesOperand::ValueList {
                items,
                span: self.span_from(start),
            });
        }
        if self.at_terminology() {
            return Ok(MatchesOperand::Terminology(self.function_call()?));
        }
        Err(self.error_here())
    }

    fn at_terminology(&mut self) -> bool {
        self.expect_label("TERMINOLOGY");
        *self.kind() == TokenKind::Identifier
            && self.text().eq_ignore_ascii_case("TERMINOLOGY")
            && *self.nth_kind(1) == TokenKind::LeftParen
    }

    fn value_list_item(&mut self) -> Parsed<Expr> {
        self.expect_label("a value");
        self.expect_label("a parameter");
        if self.at_terminology() {
            return Ok(Expr::Function(self.function_call()?));
        }
        match self.kind() {
            TokenKind::Parameter => Ok(Expr::Parameter(self.parameter())),
            kind if starts_literal(kind) => Ok(Expr::Literal(self.literal()?)),
            _ => Err(self.error_here()),
        }
    }

    // ---- expressions --------------------------------------------------------------------

    fn expr(&mut self, place: Place) -> Parsed<Expr> {
        self.expect_label("a path");
        self.expect_label("a function call");
        self.expect_label("a literal");
        self.expect_label("a parameter");
        let is_call = *self.nth_kind(1) == TokenKind::LeftParen
            && matches!(
                self.kind(),
                TokenKind::Identifier | TokenKind::Keyword(Keyword::Contains)
            );
        if is_call {
            if Aggregate::from_name(self.text()).is_some() {
                return Ok(Expr::Aggregate(self.aggregate_call(place)?));
            }
            return Ok(Expr::Function(self.function_call()?));
        }
        match self.kind() {
            TokenKind::Identifier | TokenKind::NodeCode => Ok(Expr::Path(self.path()?)),
            TokenKind::Parameter => Ok(Expr::Parameter(self.parameter())),
            kind if starts_literal(kind) => Ok(Expr::Literal(self.literal()?)),
            _ => Err(self.error_here()),
        }
    }

    fn function_call(&mut self) -> Parsed<FunctionCall> {
        let start = self.current().span;
        let token = self.bump();
        let written = &self.source[token.span.start..token.span.end];
        let function = Function::from_name(written);
        let name = Identifier {
            name: function.canonical_name().unwrap_or(written).to_string(),
            span: token.span,
        };
        self.enter()?;
        self.expect(TokenKind::LeftParen, "'('")?;
        let mut args = Vec::new();
        if !self.at(TokenKind::RightParen, "')'") {
            args.push(self.expr(Place::Argument)?);
            while self.eat(TokenKind::Comma, "','").is_some() {
                args.push(self.expr(Place::Argument)?);
            }
        }
        self.expect(TokenKind::RightParen, "')'")?;
        self.leave();
        if let Some((least, most)) = function.arity()
            && (args.len() < least || most.is_some_and(|most| args.len() > most))
        {
            let wanted = match (least, most) {
                (0, Some(0)) => "no arguments".to_string(),
                (least, Some(most)) if least == most => plural(least),
                (least, Some(most)) => format!("{least} or {}", plural(most)),
                (least, None) => format!("at least {}", plural(least)),
            };
            let canonical = function.canonical_name().unwrap_or("the function");
            return Err(self.error_at(
                name.span,
                format!("{canonical} takes {wanted}, found {}", args.len()),
                None,
            ));
        }
        Ok(FunctionCall {
            function,
            name,
            args,
            span: self.span_from(start),
        })
    }

    fn aggregate_call(&mut self, place: Place) -> Parsed<AggregateCall> {
        let start = self.current().span;
        let token = self.bump();
        let name = &self.source[token.span.start..token.span.end];
        let function = Aggregate::from_name(name).expect("checked by the caller");
        if !matches!(place, Place::Column | Place::OrderBy) {
            return Err(self.error_at(
                token.span,
                format!(
                    "{} is an aggregate function, allowed only in SELECT and ORDER BY",
                    function.canonical_name()
                ),
                None,
            ));
        }
        self.expect(TokenKind::LeftParen, "'('")?;
        let mut distinct = false;
        let argument = if function == Aggregate::Count
            && let Some(star) = self.eat(TokenKind::Star, "'*'")
        {
            AggregateArgument::AllRows(star)
        } else {
            if function == Aggregate::Count {
                distinct = self.eat_keyword(Keyword::Distinct).is_some();
            }
            AggregateArgument::Path(Box::new(self.path()?))
        };
        self.expect(TokenKind::RightParen, "')'")?;
        Ok(AggregateCall {
            function,
            distinct,
            argument,
            span: self.span_from(start),
        })
    }

    fn parameter(&mut self) -> Parameter {
        let token = self.bump();
        Parameter {
            name: self.source[token.span.start + 1..token.span.end].to_string(),
            span: token.span,
        }
    }

    fn string_literal(&mut self) -> StringLiteral {
        let token = self.bump();
        let raw = &self.source[token.span.start + 1..token.span.end - 1];
        StringLiteral {
            value: decode_string(raw, false),
            span: token.span,
        }
    }

    fn literal(&mut self) -> Parsed<Literal> {
        let start = self.current().span;
        let value = match self.kind() {
            TokenKind::String => LiteralValue::String(self.string_literal().value),
            TokenKind::Keyword(Keyword::True) => {
                self.bump();
                LiteralValue::Boolean(true)
            }
            TokenKind::Keyword(Keyword::False) => {
                self.bump();
                LiteralValue::Boolean(false)
            }
            TokenKind::Keyword(Keyword::Null) => {
                self.bump();
                LiteralValue::Null
            }
            TokenKind::Minus => {
                self.bump();
                self.number(true)?
            }
            _ => self.number(false)?,
        };
        Ok(Literal {
            value,
            span: self.span_from(start),
        })
    }

    fn number(&mut self, negative: bool) -> Parsed<LiteralValue> {
        self.expect_label("a number");
        let kind = self.kind().clone();
        if !matches!(kind, TokenKind::Integer | TokenKind::Real) {
            return Err(self.error_here());
        }
        let token = self.bump();
        let text = &self.source[token.span.start..token.span.end];
        let out_of_range =
            || self.error_at(token.span, "the number is out of range".to_string(), None);
        if kind == TokenKind::Integer {
            let magnitude = i128::from(text.parse::<u64>().map_err(|_| out_of_range())?);
            let value = if negative { -magnitude } else { magnitude };
            return i64::try_from(value)
                .map(LiteralValue::Integer)
                .map_err(|_| out_of_range());
        }
        let magnitude = text.parse::<f64>().map_err(|_| out_of_range())?;
        if !magnitude.is_finite() {
            return Err(out_of_range());
        }
        Ok(LiteralValue::Real(if negative {
            -magnitude
        } else {
            magnitude
        }))
    }
}

fn n_ary_condition(level: u8, operands: Vec<Condition>, span: Span) -> Condition {
    let operands = flatten(operands, |operand| match (level, operand) {
        (0, Condition::Or { operands, .. })
        | (1, Condition::Xor { operands, .. })
        | (2, Condition::And { operands, .. }) => Splice::Inner(operands),
        (_, other) => Splice::Keep(other),
    });
    match level {
        0 => Condition::Or { operands, span },
        1 => Condition::Xor { operands, span },
        _ => Condition::And { operands, span },
    }
}

fn starts_literal(kind: &TokenKind) -> bool {
    matches!(
        kind,
        TokenKind::String
            | TokenKind::Integer
            | TokenKind::Real
            | TokenKind::Minus
            | TokenKind::Keyword(Keyword::True | Keyword::False | Keyword::Null)
    )
}

/// What `flatten` does with one operand.
enum Splice<T> {
    /// The operands of a nested node of the same kind, spliced in.
    Inner(Vec<T>),
    Keep(T),
}

/// Splices the operands of nested nodes of the same kind (from parentheses) into one list.
fn flatten<T>(operands: Vec<T>, same_kind: impl Fn(T) -> Splice<T>) -> Vec<T> {
    let mut flat = Vec::with_capacity(operands.len());
    for operand in operands {
        match same_kind(operand) {
            Splice::Inner(inner) => flat.extend(inner),
            Splice::Keep(other) => flat.push(other),
        }
    }
    flat
}

fn plural(count: usize) -> String {
    if count == 1 {
        "1 argument".to_string()
    } else {
        format!("{count} arguments")
    }
}

/// The offending token as the error shows it: its text, shortened, or `end of query`.
fn found_text(source: &str, token: &Token) -> String {
    if token.kind == TokenKind::End {
        return "end of query".to_string();
    }
    let text = &source[token.span.start..token.span.end];
    let mut shown: String = text.chars().take(40).collect();
    if shown.len() < text.len() {
        shown.push_str("...");
    }
    shown
}

/// Decodes the escapes of a string's text (between its quotes; the lexer has checked them).
/// For a LIKE pattern, `\?`, `\*` and `\\` stay as written: they escape wildcards.
pub(crate) fn decode_string(raw: &str, like_pattern: bool) -> String {
    let mut decoded = String::with_capacity(raw.len());
    let mut characters = raw.chars().peekable();
    while let Some(character) = characters.next() {
        if character != '\\' {
            decoded.push(character);
            continue;
        }
        let Some(escaped) = characters.next() else {
            decoded.push('\\');
            break;
        };
        match escaped {
            '?' | '*' | '\\' if like_pattern => {
                decoded.push('\\');
                decoded.push(escaped);
            }
            'a' => decoded.push('\u{7}'),
            'b' => decoded.push('\u{8}'),
            'f' => decoded.push('\u{c}'),
            'n' => decoded.push('\n'),
            'r' => decoded.push('\r'),
            't' => decoded.push('\t'),
            'v' => decoded.push('\u{b}'),
            'u' => {
                let hex: String = characters.by_ref().take(4).collect();
                let code = u32::from_str_radix(&hex, 16).unwrap_or(0xFFFD);
                decoded.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
            }
            '0'..='7' => {
                let mut code = escaped.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match characters.peek().and_then(|next| next.to_digit(8)) {
                        Some(digit) => {
                            code = code * 8 + digit;
                            characters.next();
                        }
                        None => break,
                    }
                }
                decoded.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
            }
            // quotes, `?`, `*` and backslash stand for themselves
            other => decoded.push(other),
        }
    }
    decoded
}

/// Optimal string alignment distance: insertions, deletions, substitutions and swaps of
/// neighbours each cost one, so `CONTIANS` is one step from `CONTAINS`.
fn edit_distance(left: &str, right: &str) -> usize {
    let left: Vec<char> = left.chars().collect();
    let right: Vec<char> = right.chars().collect();
    let mut table = vec![vec![0usize; right.len() + 1]; left.len() + 1];
    for (i, row) in table.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in table[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=left.len() {
        for j in 1..=right.len() {
            let cost = usize::from(left[i - 1] != right[j - 1]);
            let mut best = (table[i - 1][j] + 1)
                .min(table[i][j - 1] + 1)
                .min(table[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && left[i - 1] == right[j - 2] && left[i - 2] == right[j - 1] {
                best = best.min(table[i - 2][j - 2] + 1);
            }
            table[i][j] = best;
        }
    }
    table[left.len()][right.len()]
}

fn allowed_typos(keyword_length: usize) -> usize {
    match keyword_length {
        0..=2 => 0,
        3..=6 => 1,
        _ => 2,
    }
}
