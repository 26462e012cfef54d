"""Fine-tuning: planning (warm start), the HF Trainer, forward evaluation, int8 export, memory given back."""
