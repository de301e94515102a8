//! Word error rate, scored exactly as the evaluation corpus prescribes
//! (`shared/corpus/README.md`, section *Scoring*): WER = (S + D + I) / N after both sides
//! are normalised by [`normalize`].
//!
//! # Normalisation rules
//!
//! Applied in this order to reference and hypothesis alike:
//!
//! 1. **Bracketed tags** — `[MUSIC]`, `[BLANK_AUDIO]`, `(laughs)`, `[00:34]` — are dropped,
//!    brackets included (nesting is honoured; an unmatched bracket is just punctuation).
//! 2. **Hyphenated fillers** (`mm-hm`, `uh-huh`, see [`HYPHENATED_FILLERS`]) are dropped as a
//!    whole, before hyphen splitting would leave half of them behind (`huh`).
//! 3. **Punctuation** separates words, with these exceptions:
//!    * an apostrophe inside a word is deleted (`don't` = `dont`, `I'M` = `im`,
//!      `1990's` = `1990s`); leading/trailing quotes are just punctuation (`'CAUSE` = `cause`);
//!    * a dot between two letters is deleted so abbreviations survive (`a.m.` = `am`,
//!      `O.K.` = `ok`, `U.S.` = `us`);
//!    * `.`, `,` and `:` between two digits belong to the number (`1.5`, `18,000`, `10:30`);
//!    * hyphens and dashes always split (`twenty-one` = `twenty one`, `COVID-19` = `covid nineteen`).
//! 4. **Lower case** (Unicode).
//! 5. **Symbols**: `%` = `percent`, `&` = `and`; `£ $ €` become a unit word after the amount
//!    (rule 7); a currency symbol with no amount next to it is dropped.
//! 6. **Numbers** are spelled in words:
//!    * cardinals up to the trillions: `42` = `forty two`, `120` = `one hundred twenty`
//!      (no `and`; see rule 9); thousands separators `18,000` = `eighteen thousand`, a malformed
//!      grouping (`1,2`) reads as separate numbers;
//!    * plain 4-digit numbers 1100–1999 and 2010–2099 read as years, in pairs: `1813` =
//!      `eighteen thirteen`, `2024` = `twenty twenty four`, `1900` = `nineteen hundred`,
//!      `1805` = `eighteen oh five`; 2000–2009 stay cardinal (`two thousand five`). Known
//!      limit from the corpus README: `1500` = `fifteen hundred` but `1,500` =
//!      `one thousand five hundred`;
//!    * ordinals by suffix `st nd rd th`: `17th` = `seventeenth`, `21st` = `twenty first`;
//!    * decades/plurals by suffix `s`: `1990s` = `nineteen nineties`, `80s` = `eighties`;
//!    * decimals read digit by digit after `point`: `1.5` = `one point five`,
//!      `3.14` = `three point one four`, `.5` = `point five`;
//!    * times `H:MM`: `10:30` = `ten thirty`, `10:05` = `ten oh five`, `10:00` = `ten`
//!      (whisper writes `10 o'clock` when `o'clock` is said, so `:00` adds no word);
//!    * a number with a leading zero is read digit by digit: `007` = `zero zero seven`;
//!    * more than 15 digits (phone numbers, ids) are read digit by digit;
//!    * digits glued to letters are split from them: `10am` = `ten am`, `mp3` = `mp three`.
//! 7. **Money**: the unit follows the amount, singular for exactly one: `$9` = `nine dollars`
//!    (the same words as a spoken-style `9 dollars`), `$1` = `one dollar`, `£18,000` =
//!    `eighteen thousand pounds`, `5€` = `five euros`. Two decimals are the minor unit:
//!    `$9.99` = `nine dollars ninety nine cents`, `$0.50` = `fifty cents`, `£2.50` =
//!    `two pounds fifty pence` (`one penny`); other decimals read as decimals (`$1.5` =
//!    `one point five dollars`). A scale word after the amount moves before the unit:
//!    `$5 million` = `five million dollars`, `$1.5 billion` = `one point five billion dollars`.
//! 8. **Words**: `mr` = `mister`, `mrs` = `missus`, `dr` = `doctor`, `ok` = `okay`
//!    (see [`ABBREVIATIONS`]); `per cent` = `percent`.
//! 9. **Numbers spoken with `and`**: `and` between a scale word (`hundred`, `thousand`,
//!    `million`, `billion`, `trillion`) and a number word below a hundred (cardinal or ordinal)
//!    is dropped, so `one hundred and five` = `105` and `two thousand and nine` = `2009`.
//!    `a` before a scale word is `one` (`a hundred` = `100`). A plain `and` between numbers
//!    (`three and four`) is kept.
//! 10. **Fillers** in [`FILLERS`] are dropped. Interjections that carry meaning or are often
//!     real words (`oh`, `ah`, `eh`, `huh`, `hey`, `ooh`) are kept.
//!
//! Not unified (as the README says): British/US spellings; also contractions vs full forms
//! (`gonna`/`going to`), `o'clock` vs nothing, and `*laughs*`-style tags in asterisks.

use std::collections::HashMap;

use serde::Serialize;

/// Hesitation sounds that are never scored. Whole words only, after lower-casing and
/// punctuation removal.
pub const FILLERS: &[&str] = &[
    "um", "umm", "ummm", "uh", "uhh", "uhhh", "uhm", "er", "erm", "hm", "hmm", "hmmm", "mm", "mmm",
    "mhm", "mmhm", "mmhmm",
];

/// Fillers written with a hyphen; matched on the whole whitespace-separated token because
/// hyphen splitting would otherwise keep a part of them (`uh-huh` → `huh`).
pub const HYPHENATED_FILLERS: &[&str] = &["mm-hm", "mm-hmm", "uh-huh", "uh-hum", "um-hum", "mm-mm"];

/// Abbreviations and spelling variants, mapped to the form LibriSpeech-style references spell out.
pub const ABBREVIATIONS: &[(&str, &str)] = &[
    ("mr", "mister"),
    ("mrs", "missus"),
    ("dr", "doctor"),
    ("ok", "okay"),
];

const ONES: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 10] = [
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];
const SCALES: [(u64, &str); 4] = [
    (1_000_000_000_000, "trillion"),
    (1_000_000_000, "billion"),
    (1_000_000, "million"),
    (1_000, "thousand"),
];
const SCALE_WORDS: [&str; 5] = ["hundred", "thousand", "million", "billion", "trillion"];
/// Longest digit string read as a cardinal; `SCALES` covers values below 10^15.
const MAX_CARDINAL_DIGITS: usize = 15;
const APOSTROPHES: [char; 4] = ['\'', '\u{2019}', '\u{2018}', '\u{02BC}'];

/// The normalised words of a text (rules in the module documentation).
pub fn normalize(text: &str) -> Vec<String> {
    let mut atoms = Vec::new();
    for token in strip_tags(text).split_whitespace() {
        if !is_hyphenated_filler(token) {
            lex_token(token, &mut atoms);
        }
    }
    finish(expand(&atoms))
}

/// Error counts of one alignment (or a sum of several).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
pub struct WerStats {
    pub substitutions: usize,
    pub deletions: usize,
    pub insertions: usize,
    pub reference_words: usize,
}

impl WerStats {
    /// (S + D + I) / N. With an empty reference every inserted word counts 1.0, so empty vs
    /// empty is 0.0.
    pub fn wer(&self) -> f64 {
        let errors = self.substitutions + self.deletions + self.insertions;
        if self.reference_words == 0 {
            return self.insertions as f64;
        }
        errors as f64 / self.reference_words as f64
    }

    /// Adds another file's counts (corpus-level WER is total errors / total reference words,
    /// not a mean of per-file rates).
    pub fn add(&mut self, other: &WerStats) {
        self.substitutions += other.substitutions;
        self.deletions += other.deletions;
        self.insertions += other.insertions;
        self.reference_words += other.reference_words;
    }
}

/// Aligns hypothesis to reference (Levenshtein over normalised words) and counts the errors.
pub fn score(reference: &str, hypothesis: &str) -> WerStats {
    let reference = normalize(reference);
    let hypothesis = normalize(hypothesis);
    let (reference, hypothesis) = intern(&reference, &hypothesis);
    align(&reference, &hypothesis)
}

// ---------------------------------------------------------------------------------------------
// Alignment

/// One DP cell: the edit cost so far and how it splits into S/D/I, so only two rows are kept
/// (a 10k × 10k word meeting would need 400 MB as a full matrix).
#[derive(Debug, Clone, Copy, Default)]
struct Cell {
    cost: u32,
    s: u32,
    d: u32,
    i: u32,
}

impl Cell {
    fn diagonal(self, differs: bool) -> Cell {
        let step = u32::from(differs);
        Cell {
            cost: self.cost + step,
            s: self.s + step,
            ..self
        }
    }
    fn deletion(self) -> Cell {
        Cell {
            cost: self.cost + 1,
            d: self.d + 1,
            ..self
        }
    }
    fn insertion(self) -> Cell {
        Cell {
            cost: self.cost + 1,
            i: self.i + 1,
            ..self
        }
    }
}

/// Cheapest move; on a tie the diagonal wins, then deletion, so S/D/I splits are deterministic.
fn cheapest(diagonal: Cell, deletion: Cell, insertion: Cell) -> Cell {
    let mut best = diagonal;
    if deletion.cost < best.cost {
        best = deletion;
    }
    if insertion.cost < best.cost {
        best = insertion;
    }
    best
}

/// Word ids, so the O(n·m) inner loop compares integers rather than strings.
fn intern<'a>(reference: &'a [String], hypothesis: &'a [String]) -> (Vec<u32>, Vec<u32>) {
    let mut ids: HashMap<&'a str, u32> = HashMap::new();
    let mut id_of = |word: &'a String| -> u32 {
        let next = ids.len() as u32;
        *ids.entry(word.as_str()).or_insert(next)
    };
    let reference = reference.iter().map(&mut id_of).collect();
    let hypothesis = hypothesis.iter().map(&mut id_of).collect();
    (reference, hypothesis)
}

fn align(reference: &[u32], hypothesis: &[u32]) -> WerStats {
    let mut previous: Vec<Cell> = Vec::with_capacity(hypothesis.len() + 1);
    previous.push(Cell::default());
    for j in 0..hypothesis.len() {
        previous.push(previous[j].insertion());
    }
    let mut current = vec![Cell::default(); hypothesis.len() + 1];
    for &word in reference {
        current[0] = previous[0].deletion();
        for (j, &guess) in hypothesis.iter().enumerate() {
            current[j + 1] = cheapest(
                previous[j].diagonal(word != guess),
                previous[j + 1].deletion(),
                current[j].insertion(),
            );
        }
        std::mem::swap(&mut previous, &mut current);
    }
    let last = previous[hypothesis.len()];
    WerStats {
        substitutions: last.s as usize,
        deletions: last.d as usize,
        insertions: last.i as usize,
        reference_words: reference.len(),
    }
}

// ---------------------------------------------------------------------------------------------
// Tags and lexing

fn closing_bracket(open: char) -> Option<char> {
    match open {
        '[' => Some(']'),
        '(' => Some(')'),
        _ => None,
    }
}

/// Index of the bracket closing the one at `start`, counting nested pairs of the same kind.
fn matching_bracket(chars: &[char], start: usize, open: char, close: char) -> Option<usize> {
    let mut depth = 0usize;
    for (offset, &c) in chars[start..].iter().enumerate() {
        if c == open {
            depth += 1;
        } else if c == close {
            depth -= 1;
            if depth == 0 {
                return Some(start + offset);
            }
        }
    }
    None
}

/// Removes bracketed tags, leaving a space so the words around them do not merge.
fn strip_tags(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut index = 0;
    while index < chars.len() {
        let c = chars[index];
        let end = closing_bracket(c).and_then(|close| matching_bracket(&chars, index, c, close));
        if let Some(end) = end {
            out.push(' ');
            index = end + 1;
        } else {
            out.push(c);
            index += 1;
        }
    }
    out
}

fn is_hyphenated_filler(token: &str) -> bool {
    let core = token
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase();
    HYPHENATED_FILLERS.contains(&core.as_str())
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum NumKind {
    Cardinal,
    Ordinal,
    Plural,
}

/// What the lexer sees: words, numbers as written (digits with their `.,:`), and symbols.
#[derive(Debug, Clone, PartialEq)]
enum Atom {
    Word(String),
    Number { text: String, kind: NumKind },
    Symbol(char),
}

enum CharRole {
    Keep,
    Skip,
    Symbol,
    Break,
}

fn is_word_char(c: char) -> bool {
    c.is_alphabetic() || c.is_ascii_digit()
}

fn role_of(c: char, prev: Option<char>, next: Option<char>, run_empty: bool) -> CharRole {
    let prev_digit = prev.is_some_and(|p| p.is_ascii_digit());
    let next_digit = next.is_some_and(|n| n.is_ascii_digit());
    let between_letters =
        prev.is_some_and(char::is_alphabetic) && next.is_some_and(char::is_alphabetic);
    let inside_word = prev.is_some_and(is_word_char) && next.is_some_and(is_word_char);
    match c {
        _ if is_word_char(c) => CharRole::Keep,
        '%' | '&' | '$' | '£' | '€' => CharRole::Symbol,
        '.' if next_digit && (prev_digit || run_empty) => CharRole::Keep,
        '.' if between_letters => CharRole::Skip,
        ',' | ':' if prev_digit && next_digit => CharRole::Keep,
        _ if APOSTROPHES.contains(&c) && inside_word => CharRole::Skip,
        _ => CharRole::Break,
    }
}

/// Splits one whitespace-free token into atoms.
fn lex_token(token: &str, atoms: &mut Vec<Atom>) {
    let chars: Vec<char> = token.chars().collect();
    let mut run = String::new();
    for (index, &c) in chars.iter().enumerate() {
        let prev = index.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(index + 1).copied();
        match role_of(c, prev, next, run.is_empty()) {
            CharRole::Keep => run.push(c),
            CharRole::Skip => {}
            CharRole::Symbol => {
                flush_run(&mut run, atoms);
                atoms.push(Atom::Symbol(c));
            }
            CharRole::Break => flush_run(&mut run, atoms),
        }
    }
    flush_run(&mut run, atoms);
}

fn is_number_char(c: char) -> bool {
    c.is_ascii_digit() || matches!(c, '.' | ',' | ':')
}

/// Alternating letter and number segments of a run (`fee041` → `fee`, `041`).
fn segments(run: &str) -> Vec<(bool, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut current: Option<bool> = None;
    for (index, c) in run.char_indices() {
        let numeric = is_number_char(c);
        if let Some(kind) = current.filter(|&kind| kind != numeric) {
            out.push((kind, &run[start..index]));
            start = index;
        }
        current = Some(numeric);
    }
    if let Some(numeric) = current {
        out.push((numeric, &run[start..]));
    }
    out
}

fn suffix_kind(letters: &str) -> Option<NumKind> {
    match letters {
        "st" | "nd" | "rd" | "th" => Some(NumKind::Ordinal),
        "s" => Some(NumKind::Plural),
        _ => None,
    }
}

fn flush_run(run: &mut String, atoms: &mut Vec<Atom>) {
    let text = std::mem::take(run).to_lowercase();
    let mut parts = segments(&text).into_iter().peekable();
    while let Some((numeric, part)) = parts.next() {
        if !numeric {
            atoms.push(Atom::Word(part.to_string()));
            continue;
        }
        let suffix = parts.peek().and_then(|&(next_numeric, next)| {
            if next_numeric {
                None
            } else {
                suffix_kind(next)
            }
        });
        if suffix.is_some() {
            parts.next();
        }
        let kind = suffix.unwrap_or(NumKind::Cardinal);
        atoms.push(Atom::Number {
            text: part.to_string(),
            kind,
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Expansion of atoms into words

#[derive(Clone, Copy)]
struct Currency {
    major: (&'static str, &'static str),
    minor: (&'static str, &'static str),
}

fn currency(symbol: char) -> Option<Currency> {
    match symbol {
        '$' => Some(Currency {
            major: ("dollar", "dollars"),
            minor: ("cent", "cents"),
        }),
        '£' => Some(Currency {
            major: ("pound", "pounds"),
            minor: ("penny", "pence"),
        }),
        '€' => Some(Currency {
            major: ("euro", "euros"),
            minor: ("cent", "cents"),
        }),
        _ => None,
    }
}

fn expand(atoms: &[Atom]) -> Vec<String> {
    let mut words = Vec::new();
    let mut index = 0;
    while index < atoms.len() {
        index += expand_at(atoms, index, &mut words);
    }
    words
}

/// Expands the atom at `index` (plus any it combines with) and returns how many it consumed.
fn expand_at(atoms: &[Atom], index: usize, words: &mut Vec<String>) -> usize {
    if let Some(consumed) = expand_money(atoms, index, words) {
        return consumed;
    }
    match &atoms[index] {
        Atom::Word(word) => words.push(expand_word(word).to_string()),
        Atom::Number { text, kind } => spell_number(text, *kind, words),
        Atom::Symbol('%') => words.push("percent".to_string()),
        Atom::Symbol('&') => words.push("and".to_string()),
        Atom::Symbol(_) => {}
    }
    1
}

fn expand_word(word: &str) -> &str {
    ABBREVIATIONS
        .iter()
        .find(|(short, _)| *short == word)
        .map_or(word, |(_, long)| long)
}

fn cardinal_text(atom: Option<&Atom>) -> Option<&str> {
    match atom {
        Some(Atom::Number {
            text,
            kind: NumKind::Cardinal,
        }) => Some(text),
        _ => None,
    }
}

fn currency_at(atom: Option<&Atom>) -> Option<Currency> {
    match atom {
        Some(Atom::Symbol(symbol)) => currency(*symbol),
        _ => None,
    }
}

fn scale_at(atom: Option<&Atom>) -> Option<&str> {
    match atom {
        Some(Atom::Word(word)) if SCALE_WORDS[1..].contains(&word.as_str()) => Some(word),
        _ => None,
    }
}

/// `$9`, `$ 9`, `$5 million` (symbol first) or `5€` (symbol after); `None` when not money.
fn expand_money(atoms: &[Atom], index: usize, words: &mut Vec<String>) -> Option<usize> {
    let here = atoms.get(index);
    let next = atoms.get(index + 1);
    if let (Some(unit), Some(amount)) = (currency_at(here), cardinal_text(next)) {
        let scale = scale_at(atoms.get(index + 2));
        spell_money(amount, unit, scale, words);
        return Some(2 + usize::from(scale.is_some()));
    }
    if let (Some(amount), Some(unit)) = (cardinal_text(here), currency_at(next)) {
        spell_money(amount, unit, None, words);
        return Some(2);
    }
    None
}

fn push_unit(words: &mut Vec<String>, forms: (&str, &str), singular: bool) {
    words.push(if singular { forms.0 } else { forms.1 }.to_string());
}

fn spell_money(amount: &str, unit: Currency, scale: Option<&str>, words: &mut Vec<String>) {
    let (whole, fraction) = match amount.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (amount, None),
    };
    let is_minor = fraction.is_some_and(|f| f.len() == 2 && f.bytes().all(|b| b.is_ascii_digit()));
    if is_minor && scale.is_none() && !amount.contains(':') {
        spell_major_minor(whole, fraction.unwrap_or("00"), unit, words);
        return;
    }
    spell_number_plain(amount, false, words);
    if let Some(scale) = scale {
        words.push(scale.to_string());
    }
    let singular = scale.is_none() && fraction.is_none() && integer_value(whole) == Some(1);
    push_unit(words, unit.major, singular);
}

/// `$9.99` = `nine dollars ninety nine cents`; a zero part is left out unless both are zero.
fn spell_major_minor(whole: &str, minor: &str, unit: Currency, words: &mut Vec<String>) {
    let major_value = integer_value(whole).unwrap_or(0);
    let minor_value = integer_value(minor).unwrap_or(0);
    if major_value > 0 || minor_value == 0 {
        spell_integer_part(if whole.is_empty() { "0" } else { whole }, false, words);
        push_unit(words, unit.major, major_value == 1);
    }
    if minor_value > 0 {
        cardinal(minor_value, words);
        push_unit(words, unit.minor, minor_value == 1);
    }
}

/// Value of a digit string that may carry thousands separators.
fn integer_value(digits: &str) -> Option<u64> {
    digits.replace(',', "").parse().ok()
}

fn spell_number(text: &str, kind: NumKind, words: &mut Vec<String>) {
    let start = words.len();
    spell_number_plain(text, kind != NumKind::Ordinal, words);
    let Some(last) = words[start..].last_mut() else {
        return;
    };
    match kind {
        NumKind::Cardinal => {}
        NumKind::Ordinal => *last = ordinal_of(last),
        NumKind::Plural => *last = plural_of(last),
    }
}

fn spell_number_plain(text: &str, allow_year: bool, words: &mut Vec<String>) {
    if text.contains(':') {
        spell_time(text, words);
    } else {
        spell_decimal(text, allow_year, words);
    }
}

/// `10:30` = `ten thirty`, `10:05` = `ten oh five`, `10:00` = `ten`.
fn spell_time(text: &str, words: &mut Vec<String>) {
    let mut parts = text.split(':');
    if let Some(hour) = parts.next() {
        spell_integer_part(hour, false, words);
    }
    for minutes in parts {
        match (minutes.len(), integer_value(minutes)) {
            (2, Some(0)) => {}
            (2, Some(value @ 1..=9)) => {
                words.push("oh".to_string());
                cardinal(value, words);
            }
            _ => spell_integer_part(minutes, false, words),
        }
    }
}

/// `1.5` = `one point five`; digits after the point are read one by one, as people say them.
fn spell_decimal(text: &str, allow_year: bool, words: &mut Vec<String>) {
    let mut parts = text.split('.');
    let whole = parts.next().unwrap_or("");
    spell_integer_part(whole, allow_year && !text.contains('.'), words);
    for fraction in parts {
        words.push("point".to_string());
        spell_digits(fraction, words);
    }
}

fn is_valid_grouping(text: &str) -> bool {
    let mut groups = text.split(',');
    let first_ok = groups.next().is_some_and(|g| (1..=3).contains(&g.len()));
    first_ok && groups.all(|g| g.len() == 3)
}

/// An integer as written, possibly with thousands separators (which rule out a year reading).
fn spell_integer_part(text: &str, allow_year: bool, words: &mut Vec<String>) {
    if !text.contains(',') {
        spell_integer(text, allow_year, words);
    } else if is_valid_grouping(text) {
        spell_integer(&text.replace(',', ""), false, words);
    } else {
        for group in text.split(',') {
            spell_integer(group, allow_year, words);
        }
    }
}

fn spell_integer(digits: &str, allow_year: bool, words: &mut Vec<String>) {
    let leading_zero = digits.len() > 1 && digits.starts_with('0');
    let value = digits
        .parse::<u64>()
        .ok()
        .filter(|_| digits.len() <= MAX_CARDINAL_DIGITS);
    match value {
        Some(value) if !leading_zero => {
            if allow_year && digits.len() == 4 && is_year(value) {
                spell_year(value, words);
            } else {
                cardinal(value, words);
            }
        }
        _ => spell_digits(digits, words),
    }
}

fn spell_digits(digits: &str, words: &mut Vec<String>) {
    for digit in digits.bytes().filter(u8::is_ascii_digit) {
        words.push(ONES[usize::from(digit - b'0')].to_string());
    }
}

fn is_year(value: u64) -> bool {
    (1100..=1999).contains(&value) || (2010..=2099).contains(&value)
}

/// `1813` = `eighteen thirteen`, `1900` = `nineteen hundred`, `1805` = `eighteen oh five`.
fn spell_year(value: u64, words: &mut Vec<String>) {
    let (high, low) = (value / 100, value % 100);
    below_thousand(high, words);
    match low {
        0 => words.push("hundred".to_string()),
        1..=9 => {
            words.push("oh".to_string());
            below_thousand(low, words);
        }
        _ => below_thousand(low, words),
    }
}

fn cardinal(value: u64, words: &mut Vec<String>) {
    if value == 0 {
        words.push(ONES[0].to_string());
        return;
    }
    let mut rest = value;
    for (size, name) in SCALES {
        if rest >= size {
            below_thousand(rest / size, words);
            words.push(name.to_string());
            rest %= size;
        }
    }
    below_thousand(rest, words);
}

/// Words for 1..=999; nothing for 0 so callers can append remainders freely.
fn below_thousand(value: u64, words: &mut Vec<String>) {
    let hundreds = (value / 100) as usize;
    let rest = (value % 100) as usize;
    if hundreds > 0 {
        words.push(ONES[hundreds].to_string());
        words.push("hundred".to_string());
    }
    if rest >= 20 {
        words.push(TENS[rest / 10].to_string());
        let unit = rest % 10;
        if unit > 0 {
            words.push(ONES[unit].to_string());
        }
    } else if rest > 0 {
        words.push(ONES[rest].to_string());
    }
}

fn ordinal_of(word: &str) -> String {
    let irregular = match word {
        "one" => "first",
        "two" => "second",
        "three" => "third",
        "five" => "fifth",
        "eight" => "eighth",
        "nine" => "ninth",
        "twelve" => "twelfth",
        _ => "",
    };
    if !irregular.is_empty() {
        irregular.to_string()
    } else if let Some(stem) = word.strip_suffix('y') {
        format!("{stem}ieth")
    } else {
        format!("{word}th")
    }
}

fn plural_of(word: &str) -> String {
    if let Some(stem) = word.strip_suffix('y') {
        format!("{stem}ies")
    } else if word.ends_with('x') {
        format!("{word}es")
    } else {
        format!("{word}s")
    }
}

// ---------------------------------------------------------------------------------------------
// Word-level rules

fn is_scale_word(word: &str) -> bool {
    SCALE_WORDS.contains(&word)
}

/// Cardinal or ordinal number words below a hundred — what may follow `hundred and`.
fn is_small_number_word(word: &str) -> bool {
    let mut cardinals = ONES[1..].iter().chain(TENS[2..].iter());
    cardinals.any(|&c| c == word || ordinal_of(c) == word)
}

fn finish(words: Vec<String>) -> Vec<String> {
    let words: Vec<String> = words
        .into_iter()
        .filter(|w| !FILLERS.contains(&w.as_str()))
        .collect();
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    for (index, word) in words.iter().enumerate() {
        let next = words.get(index + 1).map(String::as_str);
        let prev = out.last().map(String::as_str);
        match word.as_str() {
            "and" if prev.is_some_and(is_scale_word) && next.is_some_and(is_small_number_word) => {}
            "a" if next.is_some_and(is_scale_word) => out.push("one".to_string()),
            "cent" if prev == Some("per") => {
                out.pop();
                out.push("percent".to_string());
            }
            _ => out.push(word.clone()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn corpus(relative: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/corpus")
            .join(relative)
    }

    fn words(text: &str) -> String {
        normalize(text).join(" ")
    }

    #[test]
    fn normalisation_table() {
        let cases: &[(&str, &str)] = &[
            // case, punctuation, apostrophes, abbreviations
            ("Hello, World!", "hello world"),
            ("I'M ABIGAIL; you're “fine”.", "im abigail youre fine"),
            ("don’t 'CAUSE things'", "dont cause things"),
            ("Mr. Smith and Mrs. Jones", "mister smith and missus jones"),
            ("Dr. Who", "doctor who"),
            ("OK, ok. O.K. okay", "okay okay okay okay"),
            ("at 10 a.m. in the U.S.", "at ten am in the us"),
            // hyphens and dashes
            (
                "twenty-one well-known e-mail",
                "twenty one well known e mail",
            ),
            ("COVID-19 — again", "covid nineteen again"),
            // fillers and tags
            ("um so uh yes, mm-hm, Uh-huh. Hmm erm", "so yes"),
            ("oh ah huh", "oh ah huh"),
            ("[MUSIC] hello (laughs) there [BLANK_AUDIO]", "hello there"),
            ("[00:34] FEE041: HERE WE GO", "fee zero four one here we go"),
            ("a (b (c) d) e", "a e"),
            ("unmatched ( bracket", "unmatched bracket"),
            // cardinals
            ("42", "forty two"),
            ("0 7 10 13 20", "zero seven ten thirteen twenty"),
            ("200 users", "two hundred users"),
            ("120 comments", "one hundred twenty comments"),
            ("1,000,000", "one million"),
            ("18,000", "eighteen thousand"),
            ("3000000000", "three billion"),
            ("1,2", "one two"),
            ("007", "zero zero seven"),
            (
                "1234567890123456",
                "one two three four five six seven eight nine zero one two three four five six",
            ),
            // years
            ("In 1813", "in eighteen thirteen"),
            ("2024", "twenty twenty four"),
            ("2010", "twenty ten"),
            ("1900 1805", "nineteen hundred eighteen oh five"),
            ("2005", "two thousand five"),
            (
                "1500 vs 1,500",
                "fifteen hundred vs one thousand five hundred",
            ),
            (
                "1066 2100",
                "one thousand sixty six two thousand one hundred",
            ),
            // ordinals and plurals
            ("March 3rd", "march third"),
            ("March 17th, 10th", "march seventeenth tenth"),
            (
                "1st 2nd 21st 100th 12th 40th",
                "first second twenty first one hundredth twelfth fortieth",
            ),
            (
                "the 1990s and 80s, 1990's",
                "the nineteen nineties and eighties nineteen nineties",
            ),
            // decimals, percent
            ("1.5%", "one point five percent"),
            ("30%", "thirty percent"),
            ("30 %", "thirty percent"),
            ("30 per cent", "thirty percent"),
            ("3.14 .5", "three point one four point five"),
            ("8. The press yard", "eight the press yard"),
            // money
            ("$9", "nine dollars"),
            ("9 dollars", "nine dollars"),
            ("$1 $ 2", "one dollar two dollars"),
            ("£18,000", "eighteen thousand pounds"),
            ("$9.99", "nine dollars ninety nine cents"),
            ("$0.50 $1.01", "fifty cents one dollar one cent"),
            ("£2.50 £0.01", "two pounds fifty pence one penny"),
            ("5€ €3", "five euros three euros"),
            ("$5 million", "five million dollars"),
            ("$1.5 billion", "one point five billion dollars"),
            ("$1.5", "one point five dollars"),
            ("$2024", "two thousand twenty four dollars"),
            ("$ alone", "alone"),
            // times
            ("10:30", "ten thirty"),
            ("10:05 10:00", "ten oh five ten"),
            ("10am 3pm", "ten am three pm"),
            // symbols, 'and' inside numbers
            ("R&D, salt & pepper", "r and d salt and pepper"),
            ("one hundred and five", "one hundred five"),
            ("105", "one hundred five"),
            ("a hundred and twenty first", "one hundred twenty first"),
            ("two thousand and nine", "two thousand nine"),
            ("three and four", "three and four"),
            ("hundreds and thousands", "hundreds and thousands"),
            ("mp3 24/7", "mp three twenty four seven"),
            ("", ""),
        ];
        for (input, expected) in cases {
            assert_eq!(words(input), *expected, "normalising {input:?}");
        }
    }

    #[test]
    fn spoken_and_written_numbers_agree() {
        let pairs = [
            ("one hundred and five", "105"),
            ("a hundred and twenty", "120"),
            ("two thousand and nine", "2009"),
            ("eighteen thousand pounds", "£18,000"),
            ("nine dollars", "$9"),
            ("one point five percent", "1.5%"),
            ("March seventeenth", "March 17th"),
            ("twenty twenty four", "2024"),
        ];
        for (spoken, written) in pairs {
            assert_eq!(
                normalize(spoken),
                normalize(written),
                "{spoken:?} vs {written:?}"
            );
        }
    }

    fn stats(s: usize, d: usize, i: usize, n: usize) -> WerStats {
        WerStats {
            substitutions: s,
            deletions: d,
            insertions: i,
            reference_words: n,
        }
    }

    #[test]
    fn wer_examples() {
        assert_eq!(score("the cat sat", "the cat sat"), stats(0, 0, 0, 3));
        assert_eq!(score("the cat sat", "the dog sat"), stats(1, 0, 0, 3));
        assert_eq!(score("the cat sat", "the sat"), stats(0, 1, 0, 3));
        assert_eq!(score("the cat sat", "the cat sat down"), stats(0, 0, 1, 3));
        assert_eq!(score("the cat sat", ""), stats(0, 3, 0, 3));
        assert_eq!(score("the cat sat", "").wer(), 1.0);
        assert_eq!(score("", ""), stats(0, 0, 0, 0));
        assert_eq!(score("", "").wer(), 0.0);
        assert_eq!(score("", "hello there").wer(), 2.0);
        // Ties prefer substitution, so one word for two is S + D, not D + D + I.
        assert_eq!(score("a b", "c"), stats(1, 1, 0, 2));
        let mixed = score(
            "we closed 42 of the 50 bugs",
            "we closed forty of 50 bugs today",
        );
        // ref: we closed forty two of the fifty bugs (8); hyp: we closed forty of fifty bugs today
        assert_eq!(mixed, stats(0, 2, 1, 8));
        assert!((mixed.wer() - 3.0 / 8.0).abs() < 1e-12);
    }

    #[test]
    fn case_and_punctuation_do_not_count() {
        let reference = "Okay, let's get started. This is the weekly sync!";
        let hypothesis = "OK lets get started this is the Weekly Sync";
        assert_eq!(score(reference, hypothesis), stats(0, 0, 0, 9));
        assert_eq!(
            score("UM, I'M ABIGAIL [NOISE]", "I'm Abigail."),
            stats(0, 0, 0, 2)
        );
    }

    #[test]
    fn corpus_level_sums_counts() {
        let mut total = WerStats::default();
        total.add(&stats(1, 0, 0, 10));
        total.add(&stats(0, 1, 2, 30));
        assert_eq!(total, stats(1, 1, 2, 40));
        assert!((total.wer() - 0.1).abs() < 1e-12);
    }

    #[test]
    fn long_alignment_is_exact() {
        let vocabulary = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta"];
        let reference: Vec<String> = (0..3000)
            .map(|i| vocabulary[(i * 7 + i / 5) % vocabulary.len()].to_string())
            .collect();
        let mut hypothesis = reference.clone();
        hypothesis.remove(1500);
        hypothesis[10] = "zzz".to_string();
        hypothesis.push("extra".to_string());
        let result = score(&reference.join(" "), &hypothesis.join(" "));
        assert_eq!(result, stats(1, 1, 1, 3000));
    }

    #[test]
    fn jfk_tiny_en_transcript_scores_zero() {
        let reference = std::fs::read_to_string(corpus("real/jfk.txt")).expect("jfk reference");
        let hypothesis = "And so my fellow Americans ask not what your country can do for you. \
                          Ask what you can do for your country.";
        let result = score(&reference, hypothesis);
        assert_eq!(result.reference_words, 22);
        assert_eq!(result.wer(), 0.0, "{result:?}");
    }

    #[test]
    fn corpus_references_normalise_to_plain_words() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(corpus("real"))
            .expect("corpus real/")
            .map(|entry| entry.expect("dir entry").path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "txt"))
            .collect();
        files.push(corpus("synthetic/meeting_a.txt"));
        files.push(corpus("text/ami_ES2011a_transcript.txt"));
        assert!(files.len() >= 10, "{files:?}");
        for path in files {
            let text = std::fs::read_to_string(&path).expect("reference text");
            let tokens = normalize(&text);
            assert!(!tokens.is_empty(), "{path:?}");
            for token in tokens {
                assert!(
                    token.chars().all(char::is_alphabetic),
                    "{path:?}: {token:?}"
                );
            }
        }
    }
}
