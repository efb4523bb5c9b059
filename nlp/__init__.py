"""Language tools: text normalisation, numbers, and (later) audio and speech recognition."""
