/** The block engine of PStorage (issue 3): work in progress, nothing exported yet. */
export {}
