//! The `sender` of a payout: formats of whatever is given, and the
//! destination country's requirements from the compliance table.

use crate::compliance::{ComplianceTable, DocumentField, SenderField, SenderRules};
use crate::reader::{Field, Reader};
use crate::violations::Rule;
use crate::wire::{Address, DocumentType, IdentityDocument, Individual, PartyType, Sender};

/// Checks `sender`. `rules` are the destination's sender rules, or `None`
/// when the destination is unknown (then only formats are checked). Returns
/// the typed sender when it is present (meaningful only when no violation
/// was recorded: partial values are discarded by `Reader::finish`).
pub(crate) fn check_sender(
    reader: &mut Reader,
    field: &Field<'_>,
    rules: Option<&SenderRules>,
    table: &ComplianceTable,
) -> Option<Sender> {
    let no_rules = SenderRules::default();
    let rules = rules.unwrap_or(&no_rules);
    reader.object(field, rules.required)?;
    let kind = reader.enumeration::<PartyType>(
        &field.child("type"),
        rules.required_fields.contains(&SenderField::Type),
    );
    let required = Requirements {
        rules,
        individual: kind == Some(PartyType::Individual),
    };
    let name = reader.text(&field.child("name"), required.of(SenderField::Name));
    let address = check_address(reader, &field.child("address"), &required, table);
    let individual = check_individual(reader, &field.child("individual"), &required);
    Some(Sender {
        kind,
        name: name.map(str::to_owned),
        address,
        individual,
    })
}

/// Resolves whether a sender field is required for this sender.
struct Requirements<'r> {
    rules: &'r SenderRules,
    individual: bool,
}

impl Requirements<'_> {
    fn of(&self, field: SenderField) -> bool {
        self.rules.required_fields.contains(&field)
            || (self.individual && self.rules.required_fields_if_individual.contains(&field))
    }

    fn of_document(&self, field: DocumentField) -> bool {
        self.rules
            .required_fields_in_identity_document
            .contains(&field)
    }
}

fn check_address(
    reader: &mut Reader,
    field: &Field<'_>,
    required: &Requirements<'_>,
    table: &ComplianceTable,
) -> Option<Address> {
    let present = reader
        .object(field, required.of(SenderField::Address))
        .is_some();
    // Children of an absent address still report when the country requires them.
    let line_1 = reader.text(
        &field.child("line_1"),
        required.of(SenderField::AddressLine1),
    );
    // line_2 and line_3 may be empty strings (the upstream example sends "").
    let line_2 = reader.string(
        &field.child("line_2"),
        required.of(SenderField::AddressLine2),
    );
    let line_3 = reader.string(
        &field.child("line_3"),
        required.of(SenderField::AddressLine3),
    );
    let city = reader.text(&field.child("city"), required.of(SenderField::AddressCity));
    let postal_code_field = field.child("postal_code");
    let postal_code = reader.text(
        &postal_code_field,
        required.of(SenderField::AddressPostalCode),
    );
    let country = reader.country(
        &field.child("country"),
        required.of(SenderField::AddressCountry),
    );
    if let (Some(code), Some(country)) = (postal_code, country)
        && let Some(format) = table.postal_code_format(country)
        && !format.matches(code)
    {
        reader.report(
            &postal_code_field,
            Rule::PostalCode,
            format!("`{code}` is not a valid postal code for {country}"),
        );
    }
    present.then(|| Address {
        line_1: line_1.map(str::to_owned),
        line_2: line_2.map(str::to_owned),
        line_3: line_3.map(str::to_owned),
        city: city.map(str::to_owned),
        postal_code: postal_code.map(str::to_owned),
        country: country.map(str::to_owned),
    })
}

fn check_individual(
    reader: &mut Reader,
    field: &Field<'_>,
    required: &Requirements<'_>,
) -> Option<Individual> {
    let present = reader
        .object(field, required.of(SenderField::Individual))
        .is_some();
    let dob = reader.date(&field.child("dob"), required.of(SenderField::IndividualDob));
    let identity_document =
        check_identity_document(reader, &field.child("identity_document"), required);
    present.then_some(Individual {
        dob,
        identity_document,
    })
}

/// The document's own requirements apply only when a document is given.
fn check_identity_document(
    reader: &mut Reader,
    field: &Field<'_>,
    required: &Requirements<'_>,
) -> Option<IdentityDocument> {
    reader.object(field, required.of(SenderField::IdentityDocument))?;
    let kind = reader.enumeration::<DocumentType>(
        &field.child("type"),
        required.of_document(DocumentField::Type),
    );
    let country = reader.country(
        &field.child("country"),
        required.of_document(DocumentField::Country),
    );
    let number = reader.text(
        &field.child("number"),
        required.of_document(DocumentField::Number),
    );
    let issued_on = reader.date(
        &field.child("issued_on"),
        required.of_document(DocumentField::IssuedOn),
    );
    let expires_on = reader.date(
        &field.child("expires_on"),
        required.of_document(DocumentField::ExpiresOn),
    );
    Some(IdentityDocument {
        kind,
        country: country.map(str::to_owned),
        number: number.map(str::to_owned),
        issued_on,
        expires_on,
    })
}
