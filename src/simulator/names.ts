/**
 * Common French given names and surnames, roughly most frequent first (order drives the Zipf-like weights used
 * when drawing names, so "Martin" is much more common than "Laporte", as in the real population).
 * Given names are split by gender only so that compound names ("Marie-Claire", "Jean-Pierre") stay plausible.
 */

export const FEMALE_FIRST_NAMES: readonly string[] = [
  'Marie', 'Nathalie', 'Isabelle', 'Sylvie', 'Catherine', 'Françoise', 'Christine', 'Sophie', 'Anne', 'Valérie',
  'Sandrine', 'Monique', 'Stéphanie', 'Céline', 'Julie', 'Véronique', 'Martine', 'Nicole', 'Aurélie', 'Camille',
  'Jeanne', 'Émilie', 'Léa', 'Manon', 'Chloé', 'Emma', 'Laura', 'Claire', 'Hélène', 'Caroline',
  'Élodie', 'Laurence', 'Sarah', 'Pauline', 'Marion', 'Louise', 'Inès', 'Jade', 'Alice', 'Lucie',
  'Charlotte', 'Mathilde', 'Juliette', 'Clara', 'Anaïs', 'Justine', 'Audrey', 'Mélanie', 'Virginie', 'Patricia',
  'Brigitte', 'Chantal', 'Jacqueline', 'Michèle', 'Danielle', 'Christiane', 'Suzanne', 'Madeleine', 'Simone', 'Denise',
  'Colette', 'Odette', 'Yvette', 'Josiane', 'Pascale', 'Corinne', 'Océane', 'Margaux', 'Zoé', 'Lina',
  'Rose', 'Ambre', 'Léna', 'Agathe', 'Adèle', 'Élise',
];

export const MALE_FIRST_NAMES: readonly string[] = [
  'Jean', 'Philippe', 'Michel', 'Alain', 'Nicolas', 'Pierre', 'Christophe', 'Patrick', 'Laurent', 'Éric',
  'Frédéric', 'Stéphane', 'David', 'Olivier', 'Julien', 'Sébastien', 'Daniel', 'Thomas', 'Bernard', 'Jacques',
  'François', 'Christian', 'Pascal', 'Alexandre', 'Antoine', 'Maxime', 'Guillaume', 'Romain', 'Mathieu', 'Vincent',
  'Louis', 'Gabriel', 'Léo', 'Raphaël', 'Arthur', 'Hugo', 'Jules', 'Lucas', 'Paul', 'Adam',
  'Nathan', 'Théo', 'Tom', 'Enzo', 'Clément', 'Baptiste', 'Quentin', 'Kévin', 'Florian', 'Benjamin',
  'Jérôme', 'Cédric', 'Thierry', 'Didier', 'Gérard', 'René', 'Marcel', 'Robert', 'Henri', 'Georges',
  'Roger', 'Claude', 'André', 'Yves', 'Serge', 'Dominique', 'Bruno', 'Denis', 'Gilles', 'Marc',
  'Sylvain', 'Arnaud', 'Damien', 'Fabrice', 'Franck', 'Victor',
];

export const SURNAMES: readonly string[] = [
  'Martin', 'Bernard', 'Thomas', 'Petit', 'Robert', 'Richard', 'Durand', 'Dubois', 'Moreau', 'Laurent',
  'Simon', 'Michel', 'Lefebvre', 'Leroy', 'Roux', 'David', 'Bertrand', 'Morel', 'Fournier', 'Girard',
  'Bonnet', 'Dupont', 'Lambert', 'Fontaine', 'Rousseau', 'Vincent', 'Muller', 'Lefèvre', 'Faure', 'André',
  'Mercier', 'Blanc', 'Guérin', 'Boyer', 'Garnier', 'Chevalier', 'François', 'Legrand', 'Gauthier', 'Garcia',
  'Perrin', 'Robin', 'Clément', 'Morin', 'Nicolas', 'Henry', 'Roussel', 'Mathieu', 'Gautier', 'Masson',
  'Marchand', 'Duval', 'Denis', 'Dumont', 'Marie', 'Lemaire', 'Noël', 'Meyer', 'Dufour', 'Meunier',
  'Brun', 'Blanchard', 'Giraud', 'Joly', 'Rivière', 'Lucas', 'Brunet', 'Gaillard', 'Barbier', 'Arnaud',
  'Martinez', 'Gérard', 'Roche', 'Renard', 'Schmitt', 'Roy', 'Leroux', 'Colin', 'Vidal', 'Caron',
  'Picard', 'Roger', 'Fabre', 'Aubert', 'Lemoine', 'Renaud', 'Dumas', 'Lacroix', 'Olivier', 'Philippe',
  'Bourgeois', 'Pierre', 'Benoît', 'Rey', 'Leclerc', 'Payet', 'Rolland', 'Leclercq', 'Guillaume', 'Lecomte',
  'Lopez', 'Jean', 'Dupuy', 'Guillot', 'Hubert', 'Berger', 'Carpentier', 'Sanchez', 'Dupuis', 'Moulin',
  'Louis', 'Deschamps', 'Huet', 'Vasseur', 'Perez', 'Boucher', 'Fleury', 'Royer', 'Klein', 'Jacquet',
  'Adam', 'Paris', 'Poirier', 'Marty', 'Aubry', 'Guyot', 'Carré', 'Charles', 'Renault', 'Charpentier',
  'Ménard', 'Maillard', 'Baron', 'Bertin', 'Bailly', 'Hervé', 'Schneider', 'Fernandez', 'Le Gall', 'Collet',
  'Léger', 'Bouvier', 'Julien', 'Prévost', 'Millet', 'Perrot', 'Daniel', 'Le Roux', 'Cousin', 'Germain',
  'Breton', 'Besson', 'Langlois', 'Rémy', 'Le Goff', 'Pelletier', 'Lévêque', 'Perrier', 'Leblanc', 'Barré',
  'Lebrun', 'Marchal', 'Weber', 'Mallet', 'Hamon', 'Boulanger', 'Jacob', 'Monnier', 'Michaud', 'Rodriguez',
  'Guichard', 'Gillet', 'Étienne', 'Grondin', 'Poulain', 'Tessier', 'Chevallier', 'Collin', 'Chauvin', 'Da Silva',
  'Bouchet', 'Gay', 'Lemaître', 'Bénard', 'Maréchal', 'Humbert', 'Reynaud', 'Antoine', 'Hoarau', 'Perret',
  'Barthélemy', 'Cordier', 'Pichon', 'Lejeune', 'Gilbert', 'Lamy', 'Delaunay', 'Pasquier', 'Carlier', 'Laporte',
];
