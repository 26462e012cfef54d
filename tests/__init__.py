"""The test suite, by floor: framework, hf_text, classifier, ner, fuzz, delivery, e2e; helpers in support."""
