"""fqeval against a real llama.cpp llama-server (FQEVAL_LLAMA_SERVER_DIR)."""
