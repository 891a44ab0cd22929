"""The bundled target TOMLs: data, shipped in the wheel as conformance.bundled_targets."""
