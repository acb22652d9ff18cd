"""Who was reached: contacts (with their lists and tags as they were at send time), the
operator and region of a number, and looking a person up across campaigns."""
