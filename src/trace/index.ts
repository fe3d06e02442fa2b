/** Placeholder: this layer is not written yet. */
export {};
