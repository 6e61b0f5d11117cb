"""Parse structured requirements (area, place, tax, …) out of the free text of an inquiry."""
