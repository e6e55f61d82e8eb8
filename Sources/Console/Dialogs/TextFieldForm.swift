/// A dialog form whose focused field may be a text field. Right after a
/// text field gains focus its text is selected, so the first key typed
/// replaces it, as in most form-based programs.
protocol TextFieldForm {
    var replacesText: Bool { get set }

    /// Applies `change` to the focused field's text and returns true, or
    /// returns false when the focused field is a choice, not text.
    mutating func changeFocusedText(_ change: (inout String) -> Void) -> Bool
}

extension TextFieldForm {
    /// Types `character` into the focused text field, replacing selected text.
    mutating func insert(_ character: Character) {
        let replace = replacesText
        edit { text in
            if replace { text = "" }
            text.append(character)
        }
    }

    /// Deletes the last character, or all of the text while it is selected.
    mutating func deleteBackward() {
        let replace = replacesText
        edit { text in
            if replace {
                text = ""
            } else if !text.isEmpty {
                text.removeLast()
            }
        }
    }

    /// Empties the focused text field.
    mutating func clearField() {
        edit { $0 = "" }
    }

    private mutating func edit(_ change: (inout String) -> Void) {
        if changeFocusedText(change) { replacesText = false }
    }
}
