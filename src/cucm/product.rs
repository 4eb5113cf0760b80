//! AXL product names (`Cisco 8851`, `Cisco 8865NR`, `Cisco 7841`) as the model names the engine
//! knows (`CP-8851`, `CP-8865NR`, `CP-7841`; [`crate::xsi::model`] reads capabilities from
//! them). A product that says Multiplatform, MPP or 3PCC becomes `CP-NNNN-3PCC`, which the
//! model table treats as Multiplatform firmware (no RTP pushes). Anything else (soft clients,
//! third-party SIP devices) keeps its product name and is an unknown model to the engine.

use crate::xsi::model::ModelFamily;

/// The engine's model name for AXL product `product`.
pub fn model_for_product(product: &str) -> String {
    let p = product.trim();
    let upper = p.to_ascii_uppercase();
    let mpp = upper
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| matches!(w, "3PCC" | "MPP" | "MULTIPLATFORM"));
    let Some(rest) = p.strip_prefix("Cisco ") else {
        return p.to_owned();
    };
    let first = rest.split_whitespace().next().unwrap_or("");
    let digits: String = first.chars().take_while(char::is_ascii_digit).collect();
    let suffix = &first[digits.len()..];
    let suffix_ok = suffix.chars().all(|c| c.is_ascii_uppercase());
    if !(3..=4).contains(&digits.len()) || !suffix_ok {
        return p.to_owned();
    }
    if mpp {
        format!("CP-{digits}{suffix}-3PCC")
    } else {
        format!("CP-{digits}{suffix}")
    }
}

/// Whether `model` (from [`model_for_product`]) runs Multiplatform firmware.
pub fn is_multiplatform(model: &str) -> bool {
    ModelFamily::from_model_name(model).multiplatform()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_map_to_models() {
        for (product, model) in [
            ("Cisco 8851", "CP-8851"),
            ("Cisco 8865NR", "CP-8865NR"),
            ("Cisco 7841", "CP-7841"),
            ("Cisco 8832", "CP-8832"),
            ("Cisco 8845 3PCC", "CP-8845-3PCC"),
            ("Cisco 7821 Multiplatform", "CP-7821-3PCC"),
            ("Cisco IP Communicator", "Cisco IP Communicator"),
            (
                "Third-party SIP Device (Advanced)",
                "Third-party SIP Device (Advanced)",
            ),
            ("Cisco 888/887/886", "Cisco 888/887/886"),
        ] {
            assert_eq!(model_for_product(product), model, "{product}");
        }
        assert!(is_multiplatform("CP-8845-3PCC"));
        assert!(!is_multiplatform("CP-8845"));
    }
}
