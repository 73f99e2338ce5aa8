"""HTTP request and response models, one module per router."""
