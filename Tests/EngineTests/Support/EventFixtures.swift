@testable import Engine

/// Returns a `post_save` event, of a `shop.Product` record unless `model` names another model.
func saveEvent(
    pk: JSONValue = 1, created: Bool = false, updateFields: [String]? = nil, fields: JSONObject = JSONObject(),
    model: String = "shop.Product"
) -> ChangeEvent {
    ChangeEvent(model: model, pk: pk, signal: .postSave, created: created, updateFields: updateFields, fields: fields)
}

/// Returns a `post_delete` event, of a `shop.Product` record unless `model` names another model.
func deleteEvent(pk: JSONValue = 1, fields: JSONObject = JSONObject(), model: String = "shop.Product") -> ChangeEvent {
    ChangeEvent(model: model, pk: pk, signal: .postDelete, fields: fields)
}

/// Builds an object from key/value pairs, keeping their order.
func object(_ pairs: (String, JSONValue)...) -> JSONObject {
    JSONObject(pairs)
}
