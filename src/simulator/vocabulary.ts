/**
 * Words the drones "hear". Ordinary words are listed roughly most frequent first (the order drives Zipf-like
 * weights, as in real speech); riot words are the signal that word rules and statistics look for.
 */

export const ORDINARY_WORDS: readonly string[] = [
  'oui', 'non', 'bonjour', 'merci', 'alors', 'voilà', 'aujourd\'hui', 'demain', 'hier', 'maintenant',
  'maison', 'rue', 'voiture', 'travail', 'école', 'enfant', 'ami', 'famille', 'temps', 'jour',
  'soir', 'matin', 'nuit', 'semaine', 'week-end', 'heure', 'minute', 'argent', 'euros', 'café',
  'pain', 'boulangerie', 'marché', 'magasin', 'pharmacie', 'métro', 'bus', 'gare', 'train', 'vélo',
  'trottinette', 'taxi', 'parking', 'bureau', 'réunion', 'patron', 'collègue', 'téléphone', 'message', 'appel',
  'rendez-vous', 'médecin', 'hôpital', 'restaurant', 'déjeuner', 'dîner', 'petit-déjeuner', 'repas', 'cuisine', 'courses',
  'fromage', 'vin', 'bière', 'eau', 'croissant', 'baguette', 'viande', 'poisson', 'légumes', 'fruits',
  'pomme', 'tomate', 'chocolat', 'gâteau', 'sucre', 'sel', 'lait', 'beurre', 'œufs', 'salade',
  'pluie', 'soleil', 'nuage', 'vent', 'froid', 'chaud', 'neige', 'orage', 'météo', 'parapluie',
  'beau', 'grand', 'petit', 'nouveau', 'vieux', 'jeune', 'bon', 'mauvais', 'joli', 'facile',
  'difficile', 'rapide', 'lent', 'cher', 'gratuit', 'ouvert', 'fermé', 'plein', 'vide', 'tranquille',
  'content', 'fatigué', 'pressé', 'malade', 'heureux', 'triste', 'drôle', 'sérieux', 'gentil', 'sympa',
  'aller', 'venir', 'partir', 'rentrer', 'arriver', 'attendre', 'chercher', 'trouver', 'prendre', 'donner',
  'manger', 'boire', 'dormir', 'parler', 'écouter', 'regarder', 'voir', 'savoir', 'penser', 'croire',
  'aimer', 'vouloir', 'pouvoir', 'devoir', 'faire', 'dire', 'acheter', 'vendre', 'payer', 'travailler',
  'marcher', 'courir', 'conduire', 'jouer', 'lire', 'écrire', 'apprendre', 'comprendre', 'oublier', 'appeler',
  'ouvrir', 'fermer', 'commencer', 'finir', 'rester', 'passer', 'monter', 'descendre', 'tourner', 'traverser',
  'quartier', 'immeuble', 'appartement', 'étage', 'escalier', 'ascenseur', 'porte', 'fenêtre', 'balcon', 'jardin',
  'parc', 'place', 'pont', 'quai', 'fleuve', 'Seine', 'boulevard', 'avenue', 'carrefour', 'trottoir',
  'feu', 'passage', 'coin', 'banque', 'poste', 'mairie', 'église', 'musée', 'cinéma', 'théâtre',
  'bibliothèque', 'librairie', 'piscine', 'stade', 'gymnase', 'terrasse', 'bistrot', 'brasserie', 'boutique', 'supermarché',
  'livre', 'journal', 'film', 'musique', 'chanson', 'concert', 'match', 'football', 'équipe', 'vacances',
  'voyage', 'plage', 'montagne', 'campagne', 'mer', 'avion', 'valise', 'billet', 'photo', 'anniversaire',
  'fête', 'cadeau', 'mariage', 'bébé', 'chien', 'chat', 'oiseau', 'fleur', 'arbre', 'herbe',
  'mère', 'père', 'frère', 'sœur', 'fils', 'fille', 'mari', 'femme', 'grand-mère', 'grand-père',
  'cousin', 'voisin', 'copain', 'copine', 'monsieur', 'madame', 'mademoiselle', 'professeur', 'élève', 'étudiant',
  'examen', 'devoirs', 'classe', 'cours', 'université', 'lycée', 'collège', 'crèche', 'projet', 'idée',
  'question', 'réponse', 'problème', 'solution', 'histoire', 'nouvelle', 'chose', 'truc', 'moment', 'fois',
  'vraiment', 'peut-être', 'toujours', 'jamais', 'souvent', 'parfois', 'bientôt', 'tard', 'tôt', 'ensemble',
  'beaucoup', 'trop', 'assez', 'rien', 'tout', 'quelqu\'un', 'personne', 'ici', 'là-bas', 'partout',
  'santé', 'vélib', 'loyer', 'facture', 'impôts', 'salaire', 'retraite', 'chômage', 'élection', 'politique',
];

/** Words of unrest: much more frequent in reports that see a low-score citizen, and around hotspots. */
export const RIOT_WORDS: readonly string[] = [
  'police', 'manifestation', 'émeute', 'barricade', 'casseurs', 'lacrymogène', 'CRS', 'affrontement', 'cortège', 'grève',
  'incendie', 'pavés', 'matraque', 'sommation', 'dispersion', 'interpellation', 'pillage', 'vitrines', 'black-bloc', 'mortiers',
  'banderole', 'flashball',
];
